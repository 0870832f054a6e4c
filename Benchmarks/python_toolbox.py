"""Python multiprocessing (fork) side of the toolbox benchmark (issue 12).

Usage: python3 python_toolbox.py METRIC [SIZE]. Prints one number: a rate per second, or seconds for `sleepy`.
Setup (starting pools and processes) is outside the timed part, as on the Swift side.

  map     Pool(2).map(square, list(range(SIZE))) with Python's default chunk size: tasks/s
  apply   Pool(2).apply_async(square, (i,)).get(), SIZE times: round trips/s
  pipe    Pipe(); a child echoes each message; send + recv, SIZE times: round trips/s
  queue   a producer Process puts SIZE ints on a Queue, the parent gets them: items/s
  locked  2 Processes each do `with v.get_lock(): v.value += 1` SIZE times: increments/s
  sleepy  Pool().map(sleep 10 ms, range(SIZE)): seconds
  serial  the same SIZE sleeps of 10 ms one after another: seconds
"""
import multiprocessing
import sys
import time


def square(x):
    return x * x


def sleep10(x):
    time.sleep(0.01)
    return x


def echo(conn):
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:  # the forked child holds the parent's end too, so EOF never comes: a sentinel ends it
            return
        conn.send(message)


def produce(queue, count):
    for i in range(count):
        queue.put(i)


def increment(value, count):
    for _ in range(count):
        with value.get_lock():
            value.value += 1


def timed(body):
    start = time.perf_counter()
    body()
    return time.perf_counter() - start


def main():
    metric = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    ctx = multiprocessing.get_context("fork")
    if metric in ("map", "apply", "sleepy"):
        with ctx.Pool(None if metric == "sleepy" else 2) as pool:
            pool.map(square, range(100))  # warm
            if metric == "map":
                inputs = list(range(size))  # built before the clock starts, as the Swift side builds its array
                result = []
                seconds = timed(lambda: result.extend(pool.map(square, inputs)))
                assert result[-1] == (size - 1) ** 2
                print(size / seconds)
            elif metric == "apply":
                seconds = timed(lambda: [pool.apply_async(square, (i,)).get() for i in range(size)])
                print(size / seconds)
            else:
                print(timed(lambda: pool.map(sleep10, range(size))))
    elif metric == "serial":
        print(timed(lambda: [sleep10(i) for i in range(size)]))
    elif metric == "pipe":
        parent, child = ctx.Pipe()
        process = ctx.Process(target=echo, args=(child,))
        process.start()
        child.close()
        parent.send(0)
        parent.recv()

        def rounds():
            for i in range(size):
                parent.send(i)
                parent.recv()

        seconds = timed(rounds)
        parent.send(None)
        parent.close()
        process.join()
        print(size / seconds)
    elif metric == "queue":
        queue = ctx.Queue()
        process = ctx.Process(target=produce, args=(queue, size))

        def relay():
            process.start()
            for _ in range(size):
                queue.get()

        seconds = timed(relay)
        process.join()
        print(size / seconds)
    elif metric == "locked":
        value = ctx.Value("i", 0)
        processes = [ctx.Process(target=increment, args=(value, size)) for _ in range(2)]

        def run():
            for p in processes:
                p.start()
            for p in processes:
                p.join()

        seconds = timed(run)
        assert value.value == 2 * size
        print(2 * size / seconds)
    else:
        sys.exit(f"unknown metric {metric}")


if __name__ == "__main__":
    main()
