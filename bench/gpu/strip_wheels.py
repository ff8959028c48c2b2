"""Strip debug info from the .so files of wheels in place and rewrite RECORD (sha256, size).

Usage: python strip_wheels.py WHEEL...  (needs binutils' `strip`)
"""

import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def strip_wheel(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        if not any(i.filename.endswith(".so") or ".so." in i.filename for i in infos):
            return
        data = {i.filename: z.read(i) for i in infos}
    record = next(n for n in data if n.endswith(".dist-info/RECORD"))
    with tempfile.TemporaryDirectory() as tmp:
        for name in list(data):
            if name.endswith(".so") or ".so." in name.rsplit("/", 1)[-1]:
                f = Path(tmp) / "x.so"
                f.write_bytes(data[name])
                subprocess.run(["strip", "--strip-debug", str(f)], check=True)
                data[name] = f.read_bytes()
    lines = []
    for name, blob in data.items():
        if name == record:
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(blob)}")
    lines.append(f"{record},,")
    data[record] = ("\n".join(lines) + "\n").encode()
    before = path.stat().st_size
    tmp_path = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in infos:
            zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            zi.external_attr = info.external_attr
            zi.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(zi, data[info.filename])
    os.replace(tmp_path, path)
    print(f"{path.name}: {before / 1e6:.1f} MB -> {path.stat().st_size / 1e6:.1f} MB")


for arg in sys.argv[1:]:
    strip_wheel(Path(arg))
