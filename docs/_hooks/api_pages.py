"""MkDocs hook: the API reference, one page per package of ``dense_ssl_mm``, made at build time.

The pages are generated from the package's files as they are when the site is built (every
folder with an ``__init__.py`` is a package; every public ``*.py`` in it a module), so a
module that is added, moved or removed changes the reference without anyone editing a list.
Each page holds one mkdocstrings block per module; mkdocstrings reads the docstrings
statically (nothing is imported), and ``mkdocs build --strict`` fails on a module or symbol
that no longer resolves.

The nav entry whose title is ``API reference`` (a list in ``mkdocs.yml``, any content) is
replaced by the overview page and one entry per package.
"""
from pathlib import Path

from mkdocs.structure.files import File

PACKAGE = 'dense_ssl_mm'
NAV_TITLE = 'API reference'
API_DIR = 'api'

_ROOT = Path(__file__).resolve().parents[2]


def _packages(root=_ROOT, package=PACKAGE):
    """Dotted package names and their public modules, in file-tree order.

    Args:
        root (Path): the repository root (holding the package folder).
        package (str): the top-level package name.

    Returns:
        list[tuple[str, list[str]]]: ``(package, [module, ...])`` pairs with dotted names;
        packages without a public module keep an empty list (their ``__init__`` is shown).
    """
    out = []
    for init in sorted((root / package).rglob('__init__.py')):
        folder = init.parent
        rel = folder.relative_to(root)
        if any(part.startswith(('_', '.')) for part in rel.parts):
            continue
        # A package inside a folder that is not itself a package is not importable as such.
        if any(not (root.joinpath(*rel.parts[:i]) / '__init__.py').exists()
               for i in range(1, len(rel.parts))):
            continue
        dotted = '.'.join(rel.parts)
        modules = [f'{dotted}.{p.stem}' for p in sorted(folder.glob('*.py'))
                   if not p.stem.startswith('_')]
        out.append((dotted, modules))
    return out


def _page(package, modules):
    """Markdown of one package's page.

    Args:
        package (str): dotted package name.
        modules (list[str]): dotted names of its public modules.

    Returns:
        str: the page.
    """
    lines = [f'# `{package}`', '',
             '*Generated from the docstrings when the site is built.*', '',
             f'::: {package}', '    options:', '      members: false',
             '      show_root_heading: false', '']
    for module in modules:
        lines += [f'::: {module}', '']
    return '\n'.join(lines)


def _index(packages):
    """Markdown of the overview page: one line per package with its modules."""
    lines = ['# API reference', '',
             'Generated from the docstrings of the package as it is when the site is built '
             '(`docs/_hooks/api_pages.py`): one page per package, one section per module. '
             'Shapes are written `(N, C, H, W)`; registered classes are built from configs '
             'by their `type` name.', '']
    for package, modules in packages:
        names = ', '.join(f'`{m.rsplit(".", 1)[1]}`' for m in modules) or '(package only)'
        lines.append(f'- [`{package}`]({package}.md): {names}')
    return '\n'.join(lines) + '\n'


def on_config(config):
    """Fill the ``API reference`` nav entry with one page per package."""
    packages = _packages()
    entries = [{'Overview': f'{API_DIR}/index.md'}]
    entries += [{package: f'{API_DIR}/{package}.md'} for package, _ in packages]
    for item in config['nav'] or []:
        if isinstance(item, dict) and NAV_TITLE in item:
            item[NAV_TITLE] = entries
            break
    else:
        raise ValueError(f'mkdocs.yml: nav has no "{NAV_TITLE}" entry for the generated '
                         f'API pages; expected "- {NAV_TITLE}: []"')
    return config


def on_files(files, config):
    """Add the generated pages to the site's files."""
    packages = _packages()
    files.append(File.generated(config, f'{API_DIR}/index.md', content=_index(packages)))
    for package, modules in packages:
        files.append(File.generated(config, f'{API_DIR}/{package}.md',
                                    content=_page(package, modules)))
    return files
