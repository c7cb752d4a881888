#!/usr/bin/python3
"""Build a MkDocs project with MkDocs itself and write what the Go test
compares: the page set (source, URL, title), the nav, each page's heading
anchors and its rewritten link and image targets.

Made with Debian bookworm's mkdocs 1.4.2, mkdocs-material 8.2.5,
python3-markdown 3.4.1 and python3-pymdownx 9.5:

    cd internal/techdocs/testdata
    for p in service handbook edge; do
        /usr/bin/python3 mkdocs_golden.py projects/$p > golden/$p.json
    done
"""
import json
import os
import sys
import tempfile
from html.parser import HTMLParser

from mkdocs.config import load_config
from mkdocs.commands import build
from mkdocs.plugins import BasePlugin


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ('h1', 'h2', 'h3', 'h4', 'h5', 'h6') and 'id' in a:
            self.ids.append(a['id'])
        if tag == 'a' and 'href' in a:
            cls = a.get('class') or ''
            if 'headerlink' in cls or 'footnote' in cls:
                return
            self.links.append(a['href'])
        if tag == 'img' and 'src' in a:
            self.links.append(a['src'])


class Golden(BasePlugin):
    def __init__(self):
        super().__init__()
        self.pages, self.nav = {}, []

    def on_nav(self, nav, config, files):
        def conv(items):
            out = []
            for it in items:
                if it.is_section:
                    out.append({'kind': 'section', 'title': it.title, 'children': conv(it.children)})
                elif it.is_page:
                    out.append({'kind': 'page', 'src': it.file.src_uri})
                else:
                    out.append({'kind': 'link', 'title': it.title, 'url': it.url})
            return out
        self.nav = conv(nav.items)
        return nav

    def on_page_content(self, html, page, config, files):
        p = Links()
        p.feed(html)
        self.pages[page.file.src_uri] = {
            'url': page.url, 'title': page.title, 'anchors': p.ids, 'links': p.links,
            'prev': page.previous_page.url if page.previous_page else None,
            'next': page.next_page.url if page.next_page else None,
        }
        return html


def main(project):
    cfg = load_config(os.path.join(project, 'mkdocs.yml'))
    golden = Golden()
    cfg['plugins']['greenroom-golden'] = golden
    with tempfile.TemporaryDirectory() as site:
        cfg['site_dir'] = site
        build.build(cfg)
    json.dump({'nav': golden.nav, 'pages': golden.pages}, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main(sys.argv[1])
