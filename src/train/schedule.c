#include "train/schedule.h"

#include <math.h>
#include <stddef.h>

const char *schedule_name(int kind) {
    static const char *const names[] = {[SCHEDULE_CONSTANT] = "constant", [SCHEDULE_COSINE] = "cosine",
                                        [SCHEDULE_LINEAR] = "linear", [SCHEDULE_TRAPEZOID] = "trapezoid"};
    return kind >= 0 && kind < (int)(sizeof names / sizeof names[0]) ? names[kind] : NULL;
}

double schedule_lr(const Schedule *s, int step) {
    if (step <= s->warmup_steps) return s->lr * step / s->warmup_steps;
    if (s->kind == SCHEDULE_TRAPEZOID) {
        // constant until the cooldown, then linear to min_lr at the last step
        double cooldown = s->cooldown_frac * s->total_steps, left = s->total_steps - step;
        if (cooldown <= 0 || left >= cooldown) return s->lr;
        if (left < 0) left = 0;
        return s->min_lr + (s->lr - s->min_lr) * left / cooldown;
    }
    if (s->kind == SCHEDULE_CONSTANT || s->total_steps <= s->warmup_steps) return s->lr;
    // progress runs from 0 just after warmup to 1 at the last step
    double progress = (double)(step - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps);
    if (progress > 1.0) progress = 1.0;
    double frac = s->kind == SCHEDULE_COSINE ? 0.5 * (1.0 + cos(M_PI * progress)) : 1.0 - progress;
    return s->min_lr + (s->lr - s->min_lr) * frac;
}
