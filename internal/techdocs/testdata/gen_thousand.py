#!/usr/bin/env python3
"""Writes the 1,000-page project of BenchmarkBuild1000 (genProject in bench_test.go) into DIR,
for the whole-process comparison with MkDocs: gen_thousand.py DIR && bench_mkdocs.sh thousand DIR"""
import os, sys
d, n = sys.argv[1], 1000
files = {"mkdocs.yml": "site_name: Thousand\nmarkdown_extensions:\n  - admonition\n  - toc:\n      permalink: true\n",
         "docs/index.md": "# Thousand\n\nHome.\n"}
para = "".join(f"Paragraph {i} lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n\n" for i in range(8))
for i in range(1, n):
    s, p = i % 20, i // 20
    other = f"../section-{(i*7)%20:02d}/page-{((i*13)%n)//20:03d}.md"
    files[f"docs/section-{s:02d}/page-{p:03d}.md"] = (f"# Page {s}.{p}\n\nIntro with **bold**, `code` and a [link]({other}#details).\n\n## Details\n\n{para}"
        "!!! note \"Remember\"\n    Something important.\n\n```python\ndef f(x):\n    return x * 2\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## More\n\n- one\n- two\n")
for p, c in files.items():
    full = os.path.join(d, p)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    open(full, "w").write(c)
