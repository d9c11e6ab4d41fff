"""The property-based API fuzz step (`cargo xtask api-fuzz`): schemathesis against `fusion demo`.

Starts `fusion demo --listen 127.0.0.1:0` in a fresh data directory, reads its JSON ready line
(URL, organisations, administrators' sign-in, relationship id), signs in with the session cookie,
creates an API token (cookie + X-CSRF-Token) and runs schemathesis with that bearer token (passed through the environment, never argv) over
every operation of `/api/v1/openapi.json`, with the path parameters pinned to the demo's own
organisation, connection and a mapping (random ids would only ever reach 404s). Checks:
`not_a_server_error` and `response_schema_conformance`. Loopback only. Exits non-zero on any
failure; prints the number of requests tried.

Usage: api_fuzz.py <schemathesis executable> <fusion binary> <work dir> [max examples]
"""

import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main() -> int:
    schemathesis, fusion, work_dir = (os.path.abspath(argument) for argument in sys.argv[1:4])
    max_examples = sys.argv[4] if len(sys.argv) > 4 else "20"
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    data_dir = os.path.join(work_dir, "data")
    environment = dict(os.environ)
    for name in list(environment):
        if name.startswith("FUSION_"):
            del environment[name]
    environment["RUST_LOG"] = "error"
    demo = subprocess.Popen(
        [fusion, "demo", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        stderr=open(os.path.join(work_dir, "demo.log"), "w"),
        env=environment,
        text=True,
    )
    try:
        ready = json.loads(demo.stdout.readline())
        assert ready.get("ready") is True, ready
        return fuzz(schemathesis, ready, work_dir, max_examples)
    finally:
        demo.terminate()
        demo.wait(timeout=30)


def fuzz(schemathesis: str, ready: dict, work_dir: str, max_examples: str) -> int:
    base = ready["url"].rstrip("/")
    assert base.startswith("http://127.0.0.1:"), "loopback only"
    org = ready["orgs"][0]
    cookies = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies), NoRedirect)
    form = urllib.parse.urlencode({"email": org["email"], "password": org["password"]}).encode()
    try:
        opener.open(urllib.request.Request(f"{base}/sign-in", data=form, method="POST"))
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 303, f"sign-in answered {redirect.code}"
    me = json.load(opener.open(f"{base}/api/v1/me"))
    org_id = me["organisation"]["id"]
    created = opener.open(
        urllib.request.Request(
            f"{base}/api/v1/me/api-tokens",
            data=json.dumps({"label": "api-fuzz"}).encode(),
            headers={"Content-Type": "application/json", "X-CSRF-Token": me["csrf_token"]},
            method="POST",
        )
    )
    token = json.load(created)["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    relationship_id = ready["relationship_id"]
    mappings = json.load(
        urllib.request.urlopen(
            urllib.request.Request(
                f"{base}/api/v1/orgs/{org_id}/relationships/{relationship_id}/mappings",
                headers=bearer,
            )
        )
    )
    mapping_id = first_id(mappings) or "no-mapping"

    config = os.path.join(work_dir, "schemathesis.toml")
    with open(config, "w") as file:
        file.write(
            "headers = { Authorization = \"Bearer ${API_FUZZ_TOKEN}\" }\n"
            "[parameters]\n"
            f'"path.org_id" = "{org_id}"\n'
            f'"path.id" = "{relationship_id}"\n'
            f'"path.mapping_id" = "{mapping_id}"\n'
        )
    ndjson = os.path.join(work_dir, "events.ndjson")
    environment = dict(os.environ)
    environment["API_FUZZ_TOKEN"] = token
    command = [
        schemathesis,
        "--config-file", config,
        "run", f"{base}/api/v1/openapi.json",
        "--url", f"{base}/api/v1",
        "--checks", "not_a_server_error,response_schema_conformance",
        # The webhook receiver lives outside /api/v1 (its own server entry) and answers only
        # Autotask's signed callouts: webhooks_end_to_end tests it.
        "--exclude-path-regex", "^/hooks/",
        "--max-examples", max_examples,
        "--workers", "1",
        "--seed", "1",
        "--report", "ndjson", "--report-ndjson-path", ndjson,
    ]
    result = subprocess.run(command, cwd=work_dir, env=environment)
    requests = count_requests(ndjson)
    print(f"api-fuzz: {requests} requests tried, schemathesis exit status {result.returncode}")
    return result.returncode


def first_id(value):
    if isinstance(value, dict):
        if isinstance(value.get("id"), str):
            return value["id"]
        values = value.values()
    elif isinstance(value, list):
        values = value
    else:
        return None
    for inner in values:
        found = first_id(inner)
        if found:
            return found
    return None


def count_requests(ndjson: str) -> int:
    """Counts the HTTP responses recorded in the NDJSON event stream (one status code each)."""
    if not os.path.exists(ndjson):
        return 0
    total = 0
    with open(ndjson) as file:
        for line in file:
            total += line.count('"status_code":')
    return total


if __name__ == "__main__":
    sys.exit(main())
