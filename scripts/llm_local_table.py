"""Issue 18's comparison table: five loglines, plain prompting vs schema-constrained decoding,
with the default local model (`--llm local`). CPU only; constrained ≈ 1 min a film, plain
≈ 4-5 min a film on 2 cores (every plain answer runs to max_tokens).

    .venv/bin/python scripts/llm_local_table.py [OUT.json [constrained,plain]] [--loglines 2,3,4,5]
                                                [--transcripts DIR] [--rewrite]

`--loglines` picks loglines by their 1-based number in LOGLINES (the machine is shared: a subset
can be run one at a time and the rows put together afterwards). Per run: which planner wrote each
role, tokens (prompt + completion, per role and in all), seconds, `check` findings of the written
film, the model's texts the film uses (kept of written, per role: the rest failed
`model_text.junk` and the rules' words stand in), and the machine's load average before and after (the numbers are only comparable with it).
"""

from __future__ import annotations

import argparse
import json
import os
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
MODES = {"plain": ("prompt",), "constrained": ("json_schema", "json_object", "prompt")}
ROLES = ("screenwriter", "director", "cinematographer")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", nargs="?", help="write the rows here as JSON")
    parser.add_argument("modes", nargs="?", default="plain,constrained",
                        help=f"comma-separated, in order; of {', '.join(MODES)}")
    parser.add_argument("--transcripts", metavar="DIR", help="also write each run's transcript here "
                        "(MODE-N.json: the model's replies, repairs and fallbacks)")
    parser.add_argument("--loglines", default=",".join(str(i + 1) for i in range(len(LOGLINES))),
                        help="1-based numbers of the loglines to run, e.g. 2,3,4,5")
    parser.add_argument("--rewrite", action="store_true", help="ask the model again, one text at a time, for "
                        "the texts the film cannot use (off by default for smollm2-135m; text_fallback.py)")
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in args.modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode {unknown[0]!r}: use {', '.join(MODES)}")
    try:
        args.loglines = [int(i) for i in args.loglines.split(",") if i.strip()]
    except ValueError:
        parser.error(f"--loglines: numbers 1-{len(LOGLINES)}, comma-separated; got {args.loglines!r}")
    if not args.loglines or any(not 1 <= i <= len(LOGLINES) for i in args.loglines):
        parser.error(f"--loglines: numbers 1-{len(LOGLINES)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    rows = []
    server = LocalServer(ctx=4096)
    server.start()
    try:
        for mode in args.modes:
            for number in args.loglines:
                logline = LOGLINES[number - 1]
                DETECTED.clear()
                planner = LLMPlanner("local", server=server, formats=MODES[mode])
                planner.endpoint, planner.client = server.url, planner._client(server.url)
                planner.model_rewrite = planner.model_rewrite or args.rewrite
                load_before = os.getloadavg()[0]
                started = time.monotonic()
                result = direct(Brief(logline=logline, shots=4), planner, rounds=0, fallback=RulePlanner())
                seconds = round(time.monotonic() - started, 1)
                findings = check_film(result.film, GateOptions())
                usage = result.usage
                rows.append({"mode": mode, "logline": logline, "seconds": seconds,
                             "provenance": {r: result.provenance.get(r) for r in ROLES},
                             "texts": result.replaced(),
                             "tokens": sum(u.get("total_tokens", 0) for u in usage.values()),
                             "usage": usage,
                             "errors": sum(f.severity == "error" for f in findings),
                             "warnings": sum(f.severity == "warning" for f in findings),
                             "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
                             "rewrite": planner.model_rewrite, "threads": server.threads, "ctx": server.ctx, "model": server.name})
                print(json.dumps(rows[-1]), flush=True)
                if args.transcripts:
                    os.makedirs(args.transcripts, exist_ok=True)
                    with open(os.path.join(args.transcripts, f"{mode}-{number}.json"), "w", encoding="utf-8") as handle:
                        json.dump(result.to_json(), handle, indent=1, ensure_ascii=False)
                if args.out:  # after every row: a run stopped half-way keeps what it measured
                    with open(args.out, "w", encoding="utf-8") as handle:
                        json.dump(rows, handle, indent=1)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
