// Learning-rate schedule: linear warmup from 0 (step 1 gets lr/W), then
// constant, cosine or linear decay to min_lr at the last step, or trapezoid:
// constant, then linear to min_lr over the last cooldown_frac of the steps.
#pragma once

typedef enum { SCHEDULE_CONSTANT, SCHEDULE_COSINE, SCHEDULE_LINEAR, SCHEDULE_TRAPEZOID } ScheduleKind;

typedef struct {
    ScheduleKind kind;
    double lr, min_lr;
    int warmup_steps, total_steps;
    double cooldown_frac;  // trapezoid only
} Schedule;

// The name of each kind (the values of the config key schedule), NULL past the last.
const char *schedule_name(int kind);
double schedule_lr(const Schedule *s, int step);  // step is 1-based
