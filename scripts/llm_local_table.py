"""Issue 18's comparison table: five loglines, plain prompting vs schema-constrained decoding,
with the default local model (`--llm local`). CPU only; ~10-20 minutes on 2 cores.

    .venv/bin/python scripts/llm_local_table.py [OUT.json [constrained,plain]]

Per run: which planner wrote each role, tokens, seconds, and `check` findings of the result.
"""

from __future__ import annotations

import json
import sys
import time

from multishot.plan.agent import Brief, RulePlanner, check_film, direct
from multishot.plan.agent.critic import GateOptions
from multishot.plan.agent.llm import DETECTED, LLMPlanner
from multishot.plan.agent.local_server import LocalServer

LOGLINES = [
    "A lighthouse keeper finds a message in a bottle.",
    "A girl teaches her old dog a new trick in the park.",
    "Two rival street musicians in a rainy Tokyo alley share one umbrella.",
    "A surgeon in a night hospital hears a knock on the window.",
    "A porter in Paris loses a suitcase and a child finds it.",
]


def main() -> None:
    rows = []
    server = LocalServer(ctx=4096)
    server.start()
    try:
        modes = {"plain": ("prompt",), "constrained": ("json_schema", "json_object", "prompt")}
        order = (sys.argv[2].split(",") if len(sys.argv) > 2 else ["plain", "constrained"])
        for mode, formats in ((m, modes[m]) for m in order):
            for logline in LOGLINES:
                DETECTED.clear()
                planner = LLMPlanner("local", server=server, formats=formats)
                planner.endpoint, planner.client = server.url, planner._client(server.url)
                started = time.monotonic()
                result = direct(Brief(logline=logline, shots=4), planner, rounds=0, fallback=RulePlanner())
                findings = check_film(result.film, GateOptions())
                usage = result.usage
                rows.append({"mode": mode, "logline": logline, "seconds": round(time.monotonic() - started, 1),
                             "provenance": {r: result.provenance.get(r) for r in ("screenwriter", "director", "cinematographer")},
                             "tokens": sum(u.get("total_tokens", 0) for u in usage.values()),
                             "errors": sum(f.severity == "error" for f in findings),
                             "warnings": sum(f.severity == "warning" for f in findings)})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        server.stop()
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
