"""Write the ``imagenet`` gettext domain: the built-in model's class names.

    python tools/imagenet_catalogs.py                 # refresh translations/imagenet.pot
    python tools/imagenet_catalogs.py --import DIR    # fill <lang>/LC_MESSAGES/imagenet.po
                                                      # from DIR/<lang>.tsv (index<TAB>name)

The template lists the 1,000 names in class order, each with its full WordNet
description as a comment for translators (it tells "crane (bird)" from the machine).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.pofile import write_po  # noqa: E402

from engine import __version__  # noqa: E402
from engine.core import i18n  # noqa: E402
from engine.models.backbones.efficientnet_lite0 import class_names  # noqa: E402
from engine.models.class_names import DOMAIN  # noqa: E402

TRANSLATIONS = ROOT / "translations"


def template() -> Catalog:
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    catalog = Catalog(project="Taxon", version=__version__, domain=DOMAIN, copyright_holder="Taxon")
    for index, name in enumerate(class_names()):
        catalog.add(
            name, auto_comments=[f"ImageNet class {index}: {info.index_to_description(index)}"]
        )
    return catalog


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=76, omit_header=False, sort_output=False)


def import_translations(folder: Path) -> None:
    names = class_names()
    pot = template()
    for tsv in sorted(folder.glob("*.tsv")):
        code = tsv.stem
        if code not in i18n.SHIPPED_LANGUAGES or code == i18n.SOURCE_LANGUAGE:
            continue
        translated = {}
        for line in tsv.read_text(encoding="utf-8").splitlines():
            if line.strip():
                index, text = line.split("\t", 1)
                translated[names[int(index)]] = text.strip()
        catalog = Catalog(
            locale=code,
            domain=DOMAIN,
            project="Taxon",
            copyright_holder="Taxon",
            version=__version__,
            fuzzy=False,
        )
        for message in pot:
            if message.id:
                catalog.add(
                    message.id, translated.get(message.id, ""), auto_comments=message.auto_comments
                )
        _write(catalog, TRANSLATIONS / code / "LC_MESSAGES" / f"{DOMAIN}.po")
        print(code, sum(1 for m in catalog if m.id and m.string))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import", dest="folder", type=Path)
    args = parser.parse_args()
    _write(template(), TRANSLATIONS / f"{DOMAIN}.pot")
    if args.folder:
        import_translations(args.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
