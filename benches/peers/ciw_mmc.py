"""Ciw's side of benches/peers: M/M/c with c = 8, rho = 0.9.

Usage: python ciw_mmc.py CUSTOMERS  -> prints one JSON line.
"""
import json
import sys
import time

import ciw

SERVERS, RATE, MEAN_SERVICE = 8, 7.2, 1.0


def main(customers: int) -> None:
    ciw.seed(1)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=RATE)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / MEAN_SERVICE)],
        number_of_servers=[SERVERS],
    )
    started = time.perf_counter()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Finish")
    seconds = time.perf_counter() - started
    records = sim.get_all_records()
    waits = [r.waiting_time for r in records]
    print(json.dumps({"simulator": "ciw", "customers": len(records), "seconds": seconds,
                      "mean_wait_s": sum(waits) / len(waits)}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
