"""Benchmark vault-tools against the floors it is measured by (issue: a 10,000-note vault in seconds).

Run by hand, never in the tests:

    .venv/bin/python benchmarks/bench.py            # 10,000 notes
    .venv/bin/python benchmarks/bench.py --notes 2000 --repeat 1

It generates a seeded synthetic vault shaped like ``vault_sample/`` (the seed note's frontmatter and prose,
20% of notes with a model-spec block), then times each target and its floor in the same run, each as a
fresh process (start-up included on both sides), and prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "vault_sample"
PY = sys.executable
CLI = [PY, "-m", "vault_tools"]

_SPECS = [
    "preset: llama-7b",
    "preset: mixtral-8x7b",
    "preset: gpt2",
    "L: {L}\nh: {h}\nV: 32000",
    "model_type: llama\nhidden_size: {h}\nintermediate_size: {f}\nnum_attention_heads: 32\n"
    "num_hidden_layers: {L}\nvocab_size: 32000\ntie_word_embeddings: false",
]


_REGION = re.compile(r"<!-- vault-tools:begin .*?<!-- vault-tools:end [^>]*-->\n\n?", re.S)
_WORDS = [
    "Attention",
    "Transformer",
    "Scaling-Laws",
    "MoE",
    "Quantization",
    "Pruning",
    "Distillation",
    "LoRA",
    "Adapter",
    "Tokenizer",
    "Embedding",
    "Optimizer",
    "Adam",
    "Gradient",
    "Checkpointing",
    "Inference",
    "Serving",
    "KV-Cache",
    "Sampling",
    "Alignment",
    "RLHF",
    "Pretraining",
    "Finetuning",
    "Dataset",
    "Benchmark",
    "Evaluation",
    "Retrieval",
    "Agents",
    "Memory",
    "Compute",
]


def make_vault(root: Path, notes: int, seed: int = 20261123, *, distinct: bool = False) -> int:
    """Write ``notes`` notes under ``root``; return the total size in bytes.

    With ``distinct``, every line of the seed's prose that holds a number also holds a word of its own
    note (letters only, at the line's end), so no two notes share such a line, and every spec block names
    its own model: a vault of notes that say different things, which the per-process memos of repeated
    lines and specs (claim detection, verdicts, rendered tables, the memory report) cannot answer.
    """
    rng = random.Random(seed)
    template = (SAMPLE / "10_Wiki/Topics/Parameter.md").read_text(encoding="utf-8")
    # The sample is kept refreshed: start from the note as its author wrote it, without managed regions.
    template = _REGION.sub("", template)
    head, _, body = template.partition("\n---\n")
    body_main, _, changelog = body.partition("## 🕓 Changelog")
    (root / ".obsidian").mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(notes):
        folder = root / f"{10 + i % 7:02d}_Folder" / f"sub{i % 23}"
        folder.mkdir(parents=True, exist_ok=True)
        title = f"Topic {i:05d}"
        front = head.replace("title: Parameter", f"title: {title}").replace(
            "id: wiki-2026-0508-parameter", f"id: wiki-2026-{i:05d}"
        )
        spec = ""
        if rng.random() < 0.2:
            text = rng.choice(_SPECS).format(
                L=rng.choice([12, 24, 32, 40]), h=rng.choice([1024, 2048, 4096]), f=rng.choice([5632, 11008])
            )
            if distinct:  # a note's own model, as in a vault with a note per model: its tables are its own
                text += f"\nname: Model {i:05d}"
            spec = f"\n## 매 spec\n```model-spec\n{text}\n```\n\n"
        # A Graph section of wikilinks, as the seed's vault has (titles are words, as Obsidian's are).
        extra = "".join(
            f"- 관련: [[{rng.choice(_WORDS)}-{rng.choice(_WORDS)}]] · [[{rng.choice(_WORDS)}]]\n"
            for _ in range(rng.randrange(20, 60))
        )
        body = _distinct(body_main, i) if distinct else body_main
        note = f"{front}\n---\n{body}{spec}## 매 관련\n{extra}\n## 🕓 Changelog{changelog}"
        data = note.encode("utf-8")
        (folder / f"{title}.md").write_bytes(data)
        total += len(data)
    return total


def _distinct(body: str, i: int) -> str:
    """``body`` with a word of note ``i`` after every line holding a digit (not fences, tables, headings)."""
    word = "".join(chr(ord("a") + (i // 26**k) % 26) for k in range(4))
    return "\n".join(
        f"{line} ({word})" if re.search(r"\d", line) and not line.startswith(("```", "|", "#")) else line
        for line in body.split("\n")
    )


def timed(cmd: list[str], repeat: int, cwd: Path | None = None, setup: list[str] | None = None) -> float:
    """Best wall time of ``repeat`` runs (a fresh process each); ``setup`` runs untimed before each."""
    return timed_cpu(cmd, repeat, cwd, setup)[0]


def timed_cpu(
    cmd: list[str], repeat: int, cwd: Path | None = None, setup: list[str] | None = None
) -> tuple[float, float, float]:
    """``timed``, with the user and system CPU seconds of that best run (its workers included)."""
    best = (float("inf"), float("nan"), float("nan"))
    for _ in range(repeat):
        if setup:
            subprocess.run(setup, check=True, cwd=cwd)
        before = _children_cpu()
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - start
        after = _children_cpu()
        if wall < best[0]:
            best = (wall, after[0] - before[0], after[1] - before[1])
    return best


def _children_cpu() -> tuple[float, float]:
    """User and system CPU seconds of the finished child processes (NaN where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan"), float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime, usage.ru_stime


FLOOR_READ = """
import os, sys
n = 0
for top, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if not d.startswith('.')]
    for f in files:
        if f.lower().endswith('.md'):
            with open(os.path.join(top, f), 'rb') as fh:
                n += len(fh.read())
"""

FLOOR_FRONTMATTER = """
import os, sys, yaml
loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
for top, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if not d.startswith('.')]
    for f in files:
        if f.lower().endswith('.md'):
            with open(os.path.join(top, f), 'rb') as fh:
                text = fh.read().decode('utf-8')
            if text.startswith('---\\n'):
                end = text.find('\\n---\\n', 4)
                yaml.load(text[4:end], Loader=loader)
"""


def calc_speed() -> tuple[float, float | None, int]:
    """Microseconds per model: the analytic core, and transformers' meta-device count (if installed)."""
    from vault_tools.core.params import count_params
    from vault_tools.core.presets import presets, spec_from_mapping

    keys = list(presets())
    start = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        for key in keys:
            count_params(spec_from_mapping({"preset": key})).total  # noqa: B018
    ours = (time.perf_counter() - start) / (rounds * len(keys)) * 1e6
    try:
        from vault_tools.exact import meta_device_count
    except ImportError:
        return ours, None, len(keys)
    try:
        import torch  # noqa: F401
    except ImportError:
        return ours, None, len(keys)
    small = [k for k in keys if presets()[k].config.get("model_type") not in ("deepseek_v3",)][:12]
    start = time.perf_counter()
    for key in small:
        meta_device_count(spec_from_mapping({"preset": key}))
    theirs = (time.perf_counter() - start) / len(small) * 1e6
    return ours, theirs, len(keys)


def max_rss_check(vault: Path) -> float:
    """Peak resident memory (MiB) of a cold ``check`` over ``vault`` with one worker."""
    shutil.rmtree(vault / ".vault-tools", ignore_errors=True)
    # A fresh parent per measurement: RUSAGE_CHILDREN keeps the largest child it has ever waited for.
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [PY, "-c", probe, *CLI, "check", str(vault), "--workers", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip()) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the vault here and keep it")
    parser.add_argument(
        "--distinct", action="store_true", help="notes whose numbered lines and specs differ (see make_vault)"
    )
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="vault-bench-"))
    suffix = "-distinct" if args.distinct else ""
    vault, pristine = work / f"vault{suffix}", work / f"pristine{suffix}"
    if not pristine.exists():
        size = make_vault(pristine, args.notes, distinct=args.distinct)
    else:
        size = sum(p.stat().st_size for p in pristine.rglob("*.md"))
    if not vault.exists():
        shutil.copytree(pristine, vault)
    # A vault is kept refreshed (that is what check guards): time check on a vault refreshed by this
    # version, also when --keep kept it from an earlier one whose output differs.
    subprocess.run([*CLI, "refresh", str(vault), "--no-cache"], stdout=subprocess.DEVNULL, check=False)
    print(f"vault: {args.notes:,} notes, {size / 1e6:.0f} MB at {vault}", file=sys.stderr)
    # Time the package as any install runs it: from bytecode.  pip compiles it when installing; an editable
    # install under PYTHONDONTWRITEBYTECODE (set on some CI machines) would compile every module each run.
    import vault_tools

    subprocess.run([PY, "-m", "compileall", "-q", str(Path(vault_tools.__file__).parent)], check=True)
    rm_cache = [
        PY,
        "-c",
        f"import shutil; shutil.rmtree({str(vault / '.vault-tools')!r}, ignore_errors=True)",
    ]

    floor_read = timed([PY, "-c", FLOOR_READ, str(vault)], args.repeat)
    floor_fm = timed([PY, "-c", FLOOR_FRONTMATTER, str(vault)], args.repeat)
    cold_check, check_user, check_sys = timed_cpu([*CLI, "check", str(vault)], args.repeat, setup=rm_cache)
    subprocess.run([*CLI, "check", str(vault)], stdout=subprocess.DEVNULL, check=False)  # fill the cache
    warm_check = timed([*CLI, "check", str(vault)], args.repeat)
    copy = work / f"copy{suffix}"
    # Cold refresh: the never-refreshed vault, every note gets its regions, changelog row and status.
    # The copy's 75 MB are flushed before the clock starts (os.sync), so the timed refresh does not also
    # wait for the kernel to write back the copy it was given.
    fresh_copy = [
        PY,
        "-c",
        f"import os, shutil; shutil.rmtree({str(copy)!r}, ignore_errors=True); "
        f"shutil.copytree({str(pristine)!r}, {str(copy)!r}); os.sync()",
    ]
    cold_refresh, refresh_user, refresh_sys = timed_cpu(
        [*CLI, "refresh", str(copy)], args.repeat, setup=fresh_copy
    )
    one = next(vault.rglob("*.md"))
    startup = timed([PY, "-c", "import yaml"], args.repeat * 3)
    bare = timed([PY, "-c", "pass"], args.repeat * 3)
    # Unchanged since the cache was filled, then the pre-commit case: just edited, so not in the cache.
    one_cached = timed([*CLI, "check", str(one)], args.repeat * 3)
    edit = [PY, "-c", f"open({str(one)!r}, 'a', encoding='utf-8').write('\\n')"]
    one_check = timed([*CLI, "check", str(one)], args.repeat * 3, setup=edit)
    ours, theirs, models = calc_speed()
    rss_small = max_rss_check_subset(work / f"small{suffix}", args.notes // 5, args.distinct)
    rss_full = max_rss_check(vault)

    rows = [
        ("cold `check` (no cache)", cold_check, "read + parse frontmatter", floor_fm, 2.0),
        ("warm `check` (cache)", warm_check, "read every file", floor_read, 1.5),
        ("cold `refresh`", cold_refresh, "cold `check`", cold_check, 3.0),
        ("`check one-note.md`, just edited", one_check, "`python -c 'import yaml'`", startup, 3.0),
        ("`check one-note.md`, unchanged", one_cached, "`python -c 'import yaml'`", startup, 3.0),
    ]
    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{args.notes:,} notes{' (distinct prose and specs)' if args.distinct else ''}, {size / 1e6:.0f} MB; "
        f"best of {args.repeat}; "
        f"`python -c pass` = {bare * 1000:.0f} ms\n"
    )
    print("| target | time | floor | floor time | ratio | goal | met |")
    print("| --- | ---: | --- | ---: | ---: | ---: | --- |")
    for name, t, floor_name, f, goal in rows:
        ratio = t / f
        print(
            f"| {name} | {t:.2f} s | {floor_name} | {f:.2f} s | {ratio:.2f}× | ≤ {goal}× | "
            f"{'yes' if ratio <= goal else 'no'} |"
        )
    meta = f"{theirs:,.0f} µs ({theirs / ours:,.0f}× slower)" if theirs else "not installed"
    print(
        f"| `calc` core, {models} presets | {ours:.0f} µs/model | transformers meta device | {meta} | | | |"
    )
    print(
        f"| peak memory, cold check, 1 worker | {rss_full:.0f} MiB at {args.notes:,} notes | "
        f"{args.notes // 5:,} notes | {rss_small:.0f} MiB | {rss_full / rss_small:.2f}× | flat | "
        f"{'yes' if rss_full / rss_small < 1.5 else 'no'} |"
    )
    # Wall times on a shared machine move with the kernel (a refresh's 10,000 atomic writes) and with
    # neighbours: the CPU of the same runs tells the code's part from the machine's.
    print(
        f"\nCPU of those best runs, all processes, user + system: cold `check` {check_user:.2f} + "
        f"{check_sys:.2f} s; cold `refresh` {refresh_user:.2f} + {refresh_sys:.2f} s "
        f"(user CPU {refresh_user / check_user:.2f}× the check's)."
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def max_rss_check_subset(small: Path, notes: int, distinct: bool) -> float:
    """``max_rss_check`` of a bench vault of ``notes`` notes at ``small`` (made on first use)."""
    if not small.exists():
        make_vault(small, notes, distinct=distinct)
    return max_rss_check(small)


if __name__ == "__main__":
    raise SystemExit(main())
