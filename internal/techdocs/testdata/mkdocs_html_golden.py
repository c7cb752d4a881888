#!/usr/bin/python3
"""Build a MkDocs project with MkDocs itself (from the project directory,
as techdocs-cli runs it, so that relative paths such as snippets'
base_path resolve there) and write each page's rendered content, the
inside of Material's <article>, as JSON keyed by source path.

Made with Debian bookworm's mkdocs 1.4.2, mkdocs-material 8.2.5,
python3-markdown 3.4.1 and python3-pymdownx 9.5:

    cd internal/techdocs/testdata
    /usr/bin/python3 mkdocs_html_golden.py projects/extensions > golden/extensions.html.json
"""
import json
import os
import subprocess
import sys
import tempfile

project = os.path.abspath(sys.argv[1])
out = {}
with tempfile.TemporaryDirectory() as site:
    subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '-q', '-d', site], cwd=project, check=True)
    docs = os.path.join(project, 'docs')
    for root, _, files in os.walk(docs):
        for f in sorted(files):
            if not f.endswith('.md'):
                continue
            src = os.path.relpath(os.path.join(root, f), docs)
            stem = src[:-3]
            page = 'index.html' if stem == 'index' else os.path.join(stem, 'index.html')
            with open(os.path.join(site, page), encoding='utf-8') as fh:
                html = fh.read()
            start = html.index('<article class="md-content__inner md-typeset">')
            start = html.index('>', start) + 1
            end = html.index('</article>', start)
            out[src] = html[start:end].strip() + '\n'
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
