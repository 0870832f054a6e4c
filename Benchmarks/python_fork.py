"""Times Python multiprocessing with the fork start method: Process(target=empty).start() + join().

Usage: python3 python_fork.py [COUNT]. Prints the mean per-process cost in microseconds (one number).
"""
import multiprocessing
import sys
import time


def empty():
    pass


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    context = multiprocessing.get_context("fork")
    # Warm up: the first start imports and sets up what later ones reuse.
    for _ in range(3):
        process = context.Process(target=empty)
        process.start()
        process.join()
    start = time.perf_counter_ns()
    for _ in range(count):
        process = context.Process(target=empty)
        process.start()
        process.join()
        if process.exitcode != 0:
            sys.exit(f"child exited with {process.exitcode}")
    elapsed = time.perf_counter_ns() - start
    print(f"{elapsed / count / 1000:.1f}")


if __name__ == "__main__":
    main()
