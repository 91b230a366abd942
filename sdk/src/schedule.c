/*
 * schedule.c - learning-rate (and one-cycle momentum) schedules
 * (TRAINING-ANCHORS.md 2.2).
 *
 * The HF schedules are the lambdas of transformers' optimization.py, computed
 * in double as Python does and indexed like LambdaLR: k counts the updates
 * already taken, so the first update uses k = 0 (lr 0 under warmup) and the
 * last one k = N-1 (lr * 1/(N-W) for linear).
 *
 * One-cycle is fastai's fit_one_cycle: combined_cos(pct_start, lr/div, lr,
 * lr/div_final) for the learning rate and combined_cos(pct_start, mom_max,
 * mom_min, mom_max) for beta1, evaluated at fastai's pct_train = k/N. Each
 * half is fastai's sched_cos(start, end, p) = start + (1 + cos(pi*(1-p))) *
 * (end-start)/2, which runs from start (p = 0) to end (p = 1). fastai never
 * evaluates p = 1 during training; past the end (k >= N) we hold the final
 * value instead of extrapolating.
 */
#include <math.h>
#include <string.h>

#include <tc/optim.h>

#define PI 3.14159265358979323846

void tc_schedule_init(tc_schedule *s, tc_schedule_kind kind, float lr, int64_t total_steps,
                      int64_t warmup_steps)
{
    if (!s)
        return;
    s->kind = kind;
    s->lr = lr;
    s->total_steps = total_steps;
    s->warmup_steps = warmup_steps;
    s->div = 25.0f;
    s->div_final = 1e5f;
    s->pct_start = 0.25f;
    s->mom_max = 0.95f;
    s->mom_min = 0.85f;
}

static int64_t max_i64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* HF _get_constant_schedule_with_warmup_lr_lambda (no warmup: HF "constant"). */
static double hf_constant(int64_t k, int64_t w)
{
    if (k < w)
        return (double)k / (double)max_i64(1, w);
    return 1.0;
}

/* HF _get_linear_schedule_with_warmup_lr_lambda. */
static double hf_linear(int64_t k, int64_t w, int64_t n)
{
    double f;

    if (k < w)
        return (double)k / (double)max_i64(1, w);
    f = (double)(n - k) / (double)max_i64(1, n - w);
    return f > 0.0 ? f : 0.0;
}

/* HF _get_cosine_schedule_with_warmup_lr_lambda with num_cycles = 0.5. */
static double hf_cosine(int64_t k, int64_t w, int64_t n)
{
    const double num_cycles = 0.5;
    double progress, f;

    if (k < w)
        return (double)k / (double)max_i64(1, w);
    progress = (double)(k - w) / (double)max_i64(1, n - w);
    f = 0.5 * (1.0 + cos(PI * num_cycles * 2.0 * progress));
    return f > 0.0 ? f : 0.0;
}

/* fastai sched_cos: start at p = 0, end at p = 1. */
static double sched_cos(double start, double end, double p)
{
    return start + (1.0 + cos(PI * (1.0 - p))) * (end - start) / 2.0;
}

/*
 * fastai combined_cos(pct, start, middle, end) at position pos in [0, 1]:
 * the first segment while pos < pct, the second from pos >= pct on.
 */
static double combined_cos(double pct, double start, double middle, double end, double pos)
{
    if (pct >= 1.0)
        return sched_cos(start, middle, pos);
    if (pos < pct)
        return sched_cos(start, middle, pos / pct);
    return sched_cos(middle, end, (pos - pct) / (1.0 - pct));
}

/* fastai pct_train for update k, held at 1 past the end. */
static double one_cycle_pos(const tc_schedule *s, int64_t k)
{
    double pos = (double)k / (double)max_i64(1, s->total_steps);

    return pos < 1.0 ? pos : 1.0;
}

static double one_cycle_pct(const tc_schedule *s)
{
    double pct = s->pct_start;

    return pct > 0.0 ? (pct < 1.0 ? pct : 1.0) : 0.0;
}

float tc_schedule_lr(const tc_schedule *s, int64_t k)
{
    double lr, f;

    if (!s)
        return 0.0f;
    lr = s->lr;
    if (k < 0)
        k = 0;
    switch (s->kind) {
    case TC_SCHEDULE_CONSTANT: f = hf_constant(k, s->warmup_steps); break;
    case TC_SCHEDULE_LINEAR: f = hf_linear(k, s->warmup_steps, s->total_steps); break;
    case TC_SCHEDULE_COSINE: f = hf_cosine(k, s->warmup_steps, s->total_steps); break;
    case TC_SCHEDULE_ONE_CYCLE:
        return (float)combined_cos(one_cycle_pct(s), lr / s->div, lr, lr / s->div_final,
                                   one_cycle_pos(s, k));
    default: return 0.0f;
    }
    return (float)(lr * f);
}

float tc_schedule_beta1(const tc_schedule *s, int64_t k)
{
    if (!s || s->kind != TC_SCHEDULE_ONE_CYCLE)
        return -1.0f;
    if (k < 0)
        k = 0;
    return (float)combined_cos(one_cycle_pct(s), s->mom_max, s->mom_min, s->mom_max,
                               one_cycle_pos(s, k));
}

int tc_schedule_kind_parse(const char *name)
{
    static const struct {
        const char *name;
        tc_schedule_kind kind;
    } names[] = {
        {"constant", TC_SCHEDULE_CONSTANT},  {"linear", TC_SCHEDULE_LINEAR},
        {"cosine", TC_SCHEDULE_COSINE},      {"one_cycle", TC_SCHEDULE_ONE_CYCLE},
        {"onecycle", TC_SCHEDULE_ONE_CYCLE},
    };
    size_t i;

    if (!name)
        return -1;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i].name) == 0)
            return (int)names[i].kind;
    return -1;
}
