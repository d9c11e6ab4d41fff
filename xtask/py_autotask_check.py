"""Drives the third-party `py-autotask` 2.3.0 client against `fusion sim`.

Proves that the simulator speaks the vendor's REST contract to a client we did not write. The only
change to the client is where it finds Autotask: the zone-discovery URL points at the simulator's
discovery host, and from there the client follows the zone URL the simulator returns, exactly as it
does against a real tenant.

Run by `cargo xtask py-autotask` (and so by CI). Exits non-zero with a message on the first failure.
"""

import json
import os
import subprocess
import sys

from py_autotask import AutotaskClient
from py_autotask.auth import AutotaskAuth
from py_autotask.exceptions import AutotaskAPIError


PASSED = []


def check(condition, message):
    if not condition:
        print(f"py-autotask: {len(PASSED)} passed, 1 failed")
        raise SystemExit(f"py-autotask check failed: {message}")
    PASSED.append(message)
    print(f"ok - {message}")


def main():
    binary = os.environ.get("FUSION_BIN", "target/debug/fusion")
    sim = subprocess.Popen(
        [binary, "sim", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready = json.loads(sim.stdout.readline())
        run_checks(ready)
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    print(f"py-autotask: {len(PASSED)} passed, 0 failed")


def run_checks(ready):
    check(ready.get("ready") is True, "fusion sim printed its ready line")
    base_url = ready["base_url"]
    tenant = ready["tenants"][0]
    user = next(u for u in tenant["api_users"] if u["active"])

    # The one change: zone discovery goes to the simulator's discovery host.
    AutotaskAuth.ZONE_INFO_URL = (
        f"{base_url}/webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
    )
    AutotaskAuth._zone_cache.clear()
    client = AutotaskClient.create(
        username=user["username"],
        integration_code=tenant["integration_code"],
        secret=user["secret"],
    )

    zone_url = client.auth.api_url
    check(
        f"webservices{tenant['zone']}.autotask.net" in zone_url.lower(),
        f"zone lookup resolved the tenant's zone ({zone_url})",
    )

    companies = client.query(
        "Companies", filters=[{"op": "gte", "field": "id", "value": 0}]
    ).items
    check(len(companies) > 0, f"query returned the tenant's companies ({len(companies)})")
    company_id = companies[0]["id"]

    status, priority = picklist_defaults(client)

    # Create enough tickets that a query needs more than one 500-row page.
    before = client.count("Tickets", {"filter": [{"op": "gte", "field": "id", "value": 0}]})
    created_ids = []
    for n in range(max(0, 520 - before)):
        created = client.create_entity(
            "Tickets",
            {
                "companyID": company_id,
                "title": f"py-autotask ticket {n}",
                "status": status,
                "priority": priority,
                "description": "created by the py-autotask check",
            },
        )
        created_ids.append(created.item_id)
    check(len(created_ids) == max(0, 520 - before), "ticket create returned new ids")

    total = client.count("Tickets", {"filter": [{"op": "gte", "field": "id", "value": 0}]})
    check(total >= 520, f"count sees every ticket ({total})")

    # Paged query past 500 rows, the vendor-recommended way: id cursor until a short page.
    seen, last_id = [], -1
    while True:
        page = client.query(
            "Tickets",
            filters=[{"op": "gt", "field": "id", "value": last_id}],
            max_records=500,
        )
        seen.extend(item["id"] for item in page.items)
        if len(page.items) < 500:
            break
        check(page.page_details.next_page_url, "a full page carries nextPageUrl")
        last_id = page.items[-1]["id"]
    check(
        len(seen) == total and len(set(seen)) == total,
        f"paged query returned all {total} tickets exactly once",
    )

    ticket_id = created_ids[0] if created_ids else seen[0]
    ticket = client.get("Tickets", ticket_id)
    check(ticket is not None and ticket["id"] == ticket_id, "get returned the ticket")

    note = client.create_child_entity(
        "Tickets",
        ticket_id,
        "Notes",
        {"title": "From py-autotask", "description": "note body", "noteType": note_type(client), "publish": 1},
    )
    notes = client.query(
        "TicketNotes", filters=[{"op": "eq", "field": "ticketID", "value": ticket_id}]
    ).items
    check(any(n["id"] == note.item_id for n in notes), "note create is visible on the ticket")

    # PATCH is on the collection with the id in the body (py-autotask's own `update` sends
    # PATCH /Tickets/{id}, a route Autotask does not have; the simulator answers 405 like Autotask).
    url = f"{zone_url.rstrip('/')}/v1.0/Tickets"
    response = client.session.patch(url, json={"id": ticket_id, "title": "Patched by py-autotask"})
    check(response.status_code == 200, f"PATCH /Tickets answered {response.status_code}")
    check(client.get("Tickets", ticket_id)["title"] == "Patched by py-autotask", "patch changed the title")
    try:
        client.update("Tickets", {"id": ticket_id, "title": "x"})
        refused = False
    except AutotaskAPIError:
        refused = True
    check(refused, "PATCH /Tickets/{id} (not an Autotask route) is refused as by Autotask")


def picklist_defaults(client):
    fields = {f["name"]: f for f in fetch_fields(client, "Tickets")}
    def first_active(name):
        values = [v for v in fields[name]["picklistValues"] if v.get("isActive", True)]
        default = [v for v in values if v.get("isDefaultValue")]
        return int((default or values)[0]["value"])
    return first_active("status"), first_active("priority")


def note_type(client):
    fields = {f["name"]: f for f in fetch_fields(client, "TicketNotes")}
    values = [v for v in fields["noteType"]["picklistValues"] if v.get("isActive", True)]
    return int(values[0]["value"])


def fetch_fields(client, entity):
    url = f"{client.auth.api_url.rstrip('/')}/v1.0/{entity}/entityInformation/fields"
    response = client.session.get(url)
    response.raise_for_status()
    return response.json()["fields"]


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as error:  # report the client's own error text, then fail
        print(f"py-autotask check failed: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
