"""Every non-extra Requires-Dist of the kit's wheels (.gpu/whl/*.whl): met by another wheel,
or by the remote's own install?  Usage: python check_wheels.py WHEEL_DIR [-v]
"""

import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name as cn
from packaging.utils import parse_wheel_filename
from packaging.version import Version

ENV = {
    "python_version": "3.12",
    "python_full_version": "3.12.3",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "extra": "",
}
# The remote's own site-packages (versions where known).
REMOTE = {
    "torch": "2.11.0",
    "cupy-cuda13x": "14.2.0",
    "numpy": "2.5.2",
    "safetensors": "0.8.0",
    "transformers": "5.17.0",
    "tokenizers": "0.23.2",
    "huggingface-hub": "1.33.0",
}
REMOTE_UNKNOWN = (
    "regex tqdm rich typer click pyyaml requests jinja2 packaging pluggy pyarrow "
    "sacrebleu pandas setuptools wheel pip filelock fsspec psutil sentencepiece "
    "pytest absl-py"
).split()
whl = Path(sys.argv[1])
have = {}
for w in sorted(whl.glob("*.whl")):
    name, version, _, tags = parse_wheel_filename(w.name)
    assert cn(name) not in have, f"two versions of {name}"
    have[cn(name)] = (version, w)
problems = 0
for name, (version, w) in sorted(have.items()):
    z = zipfile.ZipFile(w)
    meta = Parser().parsestr(
        z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    )
    rp = meta.get("Requires-Python")
    if rp and Version("3.12.3") not in SpecifierSet(rp):
        print(f"!! {name} Requires-Python {rp}")
        problems += 1
    for r in meta.get_all("Requires-Dist") or []:
        req = Requirement(r)
        if req.marker and not req.marker.evaluate(ENV):
            continue
        n = cn(req.name)
        if n in have:
            ok = req.specifier.contains(have[n][0], prereleases=True)
            where = f"wheel {have[n][0]}"
        elif n in REMOTE:
            ok = req.specifier.contains(REMOTE[n], prereleases=True)
            where = f"remote {REMOTE[n]}"
        elif n in REMOTE_UNKNOWN:
            ok = None
            where = "remote, version unknown"
        else:
            ok = False
            where = "MISSING"
        flag = {True: "ok", False: "!!", None: "??"}[ok]
        problems += ok is False
        if ok is not True or "-v" in sys.argv:
            print(f"{flag} {name} {version}: {r}  -> {where}")
print(f"{len(have)} wheels, {problems} unmet requirement(s)")
