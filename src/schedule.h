// Learning-rate schedule: linear warmup from 0 (step 1 gets lr/W), then
// constant, cosine or linear decay to min_lr at the last step.
#pragma once

typedef enum { SCHEDULE_CONSTANT, SCHEDULE_COSINE, SCHEDULE_LINEAR } ScheduleKind;

typedef struct {
    ScheduleKind kind;
    double lr, min_lr;
    int warmup_steps, total_steps;
} Schedule;

ScheduleKind schedule_kind_from_name(const char *name);  // dies on an unknown name
double schedule_lr(const Schedule *s, int step);          // step is 1-based
