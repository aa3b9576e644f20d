#!/usr/bin/env python3
"""The 1M-customer M/M/20 reference model in SimPy, for benches/compare.sh.

Same model as drills/reference/mmc.ron and the `mmc_1m` criterion group in benches/engine.rs:
Poisson arrivals at 90/s, exponential holding times of mean 0.2 s, a simpy.Resource with
capacity 20 (FIFO). One process per customer, which is how SimPy models are written.

By default it simulates 1,000,000 customers (about 20 s of wall time on a 2-core machine).
`--customers N` runs fewer; the per-customer figures are then scaled to 1M and the output
says so. Events are counted as 2 per customer (arrival and departure), the same model events
the Rust contenders count; SimPy's own internal events (process start, request, timeout,
release) are several times more.

Prints one `simpy-stats:` line that compare.sh reads, then a readable summary.
"""

import argparse
import random
import sys
import time

try:
    import simpy
except ImportError:
    sys.stderr.write("simpy is not installed: pip install simpy\n")
    sys.exit(3)

SERVERS = 20
LAMBDA = 90.0
MEAN_SERVICE = 0.2


def erlang_c_wq(c, lam, mean_service):
    """Mean wait in queue for M/M/c (Erlang C), in seconds."""
    a = lam * mean_service
    rho = a / c
    term, total = 1.0, 0.0
    for k in range(c):
        total += term
        term *= a / (k + 1)
    top = term / (1.0 - rho)
    return top / (total + top) * mean_service / (c - a)


def run(customers, seed):
    rng = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    waits = [0.0, 0]  # sum, count

    def customer(env):
        arrived = env.now
        with servers.request() as req:
            yield req
            waits[0] += env.now - arrived
            waits[1] += 1
            yield env.timeout(rng.expovariate(1.0 / MEAN_SERVICE))

    def source(env):
        for _ in range(customers):
            yield env.timeout(rng.expovariate(LAMBDA))
            env.process(customer(env))

    env.process(source(env))
    started = time.perf_counter()
    env.run()
    wall = time.perf_counter() - started
    return wall, waits[0] / max(waits[1], 1), env.now


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    wall, mean_wait, simulated = run(args.customers, args.seed)
    events = 2 * args.customers  # approximation: arrival + departure per customer
    ns_per_customer = wall * 1e9 / args.customers
    ns_per_event = wall * 1e9 / events
    scaled = args.customers != 1_000_000
    print(
        f"simpy-stats: customers={args.customers} events={events} wall={wall:.3f} "
        f"ns_per_customer={ns_per_customer:.0f} ns_per_event={ns_per_event:.0f} "
        f"mean_wait={mean_wait:.5f} scaled={'yes' if scaled else 'no'}"
    )
    print(f"SimPy {simpy.__version__}, Python {sys.version.split()[0]}")
    print(f"  customers      {args.customers}" + ("  (per-customer figures scaled to 1M)" if scaled else ""))
    print(f"  simulated      {simulated:.0f} s")
    print(f"  events         {events}  (approximated as 2 per customer)")
    print(f"  wall           {wall:.3f} s  ({ns_per_customer * 1e6 / 1e9:.2f} s per 1M customers)")
    print(f"  ns/customer    {ns_per_customer:.0f}")
    print(f"  ns/event       {ns_per_event:.0f}")
    print(f"  mean wait      {mean_wait:.5f} s  (Erlang C: {erlang_c_wq(SERVERS, LAMBDA, MEAN_SERVICE):.5f} s)")


if __name__ == "__main__":
    main()
