"""SimPy's side of benches/peers: M/M/c with c = 8, rho = 0.9, idiomatic SimPy.

Usage: python simpy_mmc.py CUSTOMERS  -> prints one JSON line.
"""
import json
import random
import sys
import time

import simpy

SERVERS, RATE, MEAN_SERVICE = 8, 7.2, 1.0


def main(customers: int) -> None:
    rng = random.Random(1)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    waits = [0.0, 0]

    def customer(env):
        arrived = env.now
        with servers.request() as req:
            yield req
            waits[0] += env.now - arrived
            waits[1] += 1
            yield env.timeout(rng.expovariate(1.0 / MEAN_SERVICE))

    def source(env):
        for _ in range(customers):
            yield env.timeout(rng.expovariate(RATE))
            env.process(customer(env))

    started = time.perf_counter()
    env.process(source(env))
    env.run()
    seconds = time.perf_counter() - started
    print(json.dumps({"simulator": "simpy", "customers": waits[1], "seconds": seconds,
                      "mean_wait_s": waits[0] / waits[1]}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
