"""How late an idle process wakes up: a witness for the fan-out benchmark.

It sleeps 2 ms at a time and notes every wake-up more than 20 ms late. A late wake-up here,
in a process that does nothing else, means the machine itself stopped running processes (the
host, the hypervisor, memory pressure): a stall the server under test did not cause. Times are
time.perf_counter() values, the same clock in every process on Linux (CLOCK_MONOTONIC), so
the benchmark lines them up with its own deliveries.

    python bench/stall_probe.py   # until SIGTERM, then prints JSON on stdout
"""

import json
import signal
import time

TICK = 0.002
LATE_MS = 20


def main() -> None:
    running = True

    def finish(*_args):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, finish)
    stalls = []
    worst = 0.0
    while running:
        before = time.perf_counter()
        time.sleep(TICK)
        late = (time.perf_counter() - before - TICK) * 1000
        worst = max(worst, late)
        if late > LATE_MS:
            stalls.append([before, round(late, 1)])
    print(json.dumps({"max_late_ms": round(worst, 1), "stalls": stalls}))


if __name__ == "__main__":
    main()
