"""Print multishot's agreement with the HoloCine and CineTrans goldens, call by call.

    .venv/bin/python scripts/parity_report.py [--json out.json]

The same loading path, layouts and calls as tests/test_parity.py (imported from there, so the
numbers are those the tests assert on); prints max abs and max abs relative to the output's
magnitude for every recorded transformer call.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_parity as tp  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the table as JSON")
    args = ap.parse_args()
    if not tp.PARITY.is_dir():
        raise SystemExit(f"no parity goldens at {tp.PARITY}")
    rows: list[dict] = []

    def add(case: str, out, ref) -> None:
        rows.append({"case": case, "max_abs": float((out - ref).abs().max()), "rel": tp._rel(out, ref)})

    info, inputs, outs = tp._load("holocine")
    model = tp._transformer(info["config"], tp.PARITY / "holocine" / "holocine_tiny_dit.safetensors", "holocine")
    for mode, step, sign in tp.HOLOCINE_CALLS:
        lat = inputs["latents_step0"] if step == 0 else inputs["latents_step1" + ("_sparse" if mode == "sparse" else "")]
        out = tp._run(model, tp._holocine_layout(info, mode), inputs["context_nega"], lat, inputs["timesteps"][step],
                      inputs[f"context_{sign}"])
        add(f"holocine {mode} step{step} {sign}", out, outs[mode][f"step{step}_{sign}"])
    info, inputs, outs = tp._load("cinetrans")
    outs = outs["main"]
    model = tp._transformer(info["config"], tp.PARITY / "cinetrans" / "cinetrans_tiny_dit.safetensors", "wan-original")
    L = info["text_len"]
    for step, sign in tp.CINETRANS_CALLS:
        ctx = inputs["context_posi"] if sign == "cond" else inputs["context_nega"][:, :L]
        neg = None if sign == "cond" else ctx
        out = tp._run(model, tp._cinetrans_layout(info), neg, inputs[f"latents_step{step}"], inputs["timesteps"][step], ctx)
        add(f"cinetrans step{step} {sign}", out, outs[f"step{step}_{sign}"])
    width = max(len(r["case"]) for r in rows)
    print(f"{'case':<{width}}  {'max abs':>10}  {'rel':>10}")
    for r in rows:
        print(f"{r['case']:<{width}}  {r['max_abs']:>10.2e}  {r['rel']:>10.2e}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
