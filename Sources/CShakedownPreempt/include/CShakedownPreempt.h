#ifndef CSHAKEDOWN_PREEMPT_H
#define CSHAKEDOWN_PREEMPT_H
// The preload library (libShakedownPreempt.so) that gives exec'd, dynamically linked commands preemption jitter
// without code changes. It has no API: it reads SHAKEDOWN_PREEMPT in its constructor (see shakedown_preempt.c).
// Nothing links against it; Shakedown puts it in a command's LD_PRELOAD.
#endif
