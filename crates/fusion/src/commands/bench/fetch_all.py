"""Fetches every ticket of one tenant with the third-party py-autotask 2.3.0 client, for
`fusion bench` (side by side with our own client against the same simulator).

The only change to the client is where it finds Autotask (the simulator's zone-discovery URL).
py-autotask's own query_all never advances past page 1, so this pages by id cursor, the way the
vendor recommends and xtask/py_autotask_check.py does. Prints one JSON line: tickets and wall_s
(timed from before the client is created, so the interpreter's start-up is not counted).
"""

import json
import os
import time

from py_autotask import AutotaskClient
from py_autotask.auth import AutotaskAuth


def main():
    base_url = os.environ["BENCH_SIM_URL"]
    started = time.perf_counter()
    AutotaskAuth.ZONE_INFO_URL = (
        f"{base_url}/webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
    )
    AutotaskAuth._zone_cache.clear()
    client = AutotaskClient.create(
        username=os.environ["BENCH_USERNAME"],
        integration_code=os.environ["BENCH_INTEGRATION_CODE"],
        secret=os.environ["BENCH_SECRET"],
    )
    seen, last_id = 0, -1
    while True:
        page = client.query(
            "Tickets",
            filters=[{"op": "gt", "field": "id", "value": last_id}],
            max_records=500,
        )
        seen += len(page.items)
        if len(page.items) < 500:
            break
        last_id = page.items[-1]["id"]
    print(json.dumps({"tickets": seen, "wall_s": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
