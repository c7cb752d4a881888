#!/usr/bin/python3
"""Generate testdata/projects/handbook: a 64-page company handbook with no
nav in mkdocs.yml (MkDocs derives it from the tree), nested sections,
index pages, cross links and anchors. Run from testdata/:

    /usr/bin/python3 gen_handbook.py
"""
import os
import random
import shutil

random.seed(7)
root = 'projects/handbook'
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root + '/docs')
with open(root + '/mkdocs.yml', 'w') as f:
    f.write('site_name: Acme Handbook\nsite_description: How we work.\nmarkdown_extensions:\n  - admonition\n  - toc:\n      permalink: true\n')

areas = {
    'engineering': ['code-review', 'on-call', 'releases', 'testing', 'incident_reviews', 'Architecture-Decisions', 'security', 'dependencies'],
    'people': ['onboarding', 'leave', 'expenses', 'travel', 'equipment', 'feedback', 'promotions'],
    'product': ['discovery', 'roadmaps', 'launches', 'pricing', 'research', 'metrics'],
    'operations': ['vendors', 'contracts', 'offices', 'budgets', 'compliance'],
}
sub = {'engineering': {'languages': ['go', 'python', 'typescript', 'sql'], 'platform': ['kubernetes', 'observability', 'ci-cd', 'databases']},
       'people': {'benefits': ['health', 'pension', 'learning']}}
pages = []


def write(path, title, body):
    p = os.path.join(root, 'docs', path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'w') as f:
        f.write(body if title is None else f'# {title}\n\n{body}')
    pages.append(path)


write('index.md', 'Acme Handbook', 'Start with [onboarding](people/onboarding.md) or the [engineering guide](engineering/index.md).\n')
write('about.md', 'About this handbook', 'Everyone can edit it.\n')
write('glossary.md', 'Glossary', '## SLO\n\nService level objective.\n\n## SLA\n\nAgreement.\n')
for area, names in areas.items():
    write(f'{area}/index.md', area.capitalize(), f'The {area} part of the handbook.\n')
    for n in names:
        title = n.replace('-', ' ').replace('_', ' ').capitalize()
        other = random.choice(names)
        body = (f'## Why\n\nBecause {n} matters.\n\n## How\n\n1. Read [{other}]({other}.md#how).\n2. Ask.\n\n'
                f'!!! tip\n    See the [glossary](../glossary.md#slo).\n\n## How\n\nA second "How" section.\n')
        write(f'{area}/{n}.md', None if n == 'security' else title, body)
    for s, leaves in sub.get(area, {}).items():
        for leaf in leaves:
            write(f'{area}/{s}/{leaf}.md', leaf.upper() if leaf == 'sql' else leaf.capitalize(),
                  f'## Basics\n\nSee [{area}](../index.md) and [home](../../index.md).\n')
for i in range(1, 21):
    write(f'policies/policy-{i:02d}.md', f'Policy {i}', f'## Scope\n\nPolicy number {i}.\n\n## Rules\n\n- Rule one\n- Rule two\n')
print(len(pages), 'pages')
