"""A deployable bundle: the BPMN file(s) of a process, the processes it calls, the forms they reference.

Read from a folder (CLI), a zip or a single .bpmn (HTTP). Its identity is one content hash over the
files it keeps, so re-deploying the same content is recognised.
"""
from __future__ import annotations

import hashlib
import io
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import DeployError, InvalidData

MAX_FILES = 200
MAX_TOTAL_BYTES = 20 * 1024 * 1024
KEPT_SUFFIXES = (".bpmn", ".json")


@dataclass
class Bundle:
    files: dict[str, bytes]  # relative posix path → content

    @property
    def bpmn_paths(self) -> list[str]:
        return sorted(p for p in self.files if p.endswith(".bpmn"))

    def content_hash(self, paths=None) -> str:
        digest = hashlib.sha256()
        for path in sorted(paths if paths is not None else self.files):
            digest.update(path.encode() + b"\0" + hashlib.sha256(self.files[path]).digest())
        return digest.hexdigest()

    def resolve(self, base: str, reference: str) -> str:
        """A path referenced from file `base`, relative to the bundle root (forms/x.json)."""
        return posixpath.normpath(reference.lstrip("/")) if not reference.startswith(".") \
            else posixpath.normpath(posixpath.join(posixpath.dirname(base), reference))


def _safe_path(name: str, origin: str) -> str:
    path = posixpath.normpath(name.replace("\\", "/"))
    if path.startswith(("/", "../")) or path == ".." or ":" in path:
        raise DeployError(f"上传文件中有不安全的路径 {name}：请重新打包 (unsafe path {name!r} in the upload)", file=origin)
    return path


def _check_size(files: dict[str, bytes], origin: str) -> None:
    if len(files) > MAX_FILES:
        raise DeployError(f"文件太多（{len(files)} 个，至多 {MAX_FILES} 个）：请只打包流程和表单 "
                          f"(too many files ({len(files)} > {MAX_FILES}))", file=origin)
    if sum(len(v) for v in files.values()) > MAX_TOTAL_BYTES:
        raise DeployError(f"流程包超过 {MAX_TOTAL_BYTES} 字节：请只打包流程和表单 (bundle larger than {MAX_TOTAL_BYTES} bytes)",
                          file=origin)


def from_directory(directory: str | Path) -> Bundle:
    root = Path(directory)
    if not root.is_dir():
        raise DeployError("不是文件夹 (not a directory)", file=str(directory))
    files = {p.relative_to(root).as_posix(): p.read_bytes()
             for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in KEPT_SUFFIXES
             and not any(part.startswith(".") or part == "node_modules" for part in p.relative_to(root).parts)}
    _check_size(files, str(directory))
    return Bundle(files)


def from_zip(data: bytes, origin: str = "upload.zip") -> Bundle:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DeployError("不是有效的 zip 压缩包：请重新打包 (not a valid zip archive)", file=origin) from None
    infos = [i for i in archive.infolist() if not i.is_dir() and i.filename.endswith(KEPT_SUFFIXES)
             and not posixpath.basename(i.filename).startswith(".") and "__MACOSX" not in i.filename]
    if len(infos) > MAX_FILES or sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        raise DeployError("压缩包解开后太大：请只打包流程和表单 (archive too large once unpacked)", file=origin)
    files = {}
    for info in infos:
        files[_safe_path(info.filename, origin)] = archive.read(info)
    # A zip of a folder ("processes/x.bpmn"): strip the common top folder.
    tops = {p.split("/", 1)[0] for p in files}
    if len(tops) == 1 and all("/" in p for p in files):
        files = {p.split("/", 1)[1]: v for p, v in files.items()}
    _check_size(files, origin)
    return Bundle(files)


def from_bpmn(name: str, data: bytes) -> Bundle:
    return Bundle({_safe_path(posixpath.basename(name) or "process.bpmn", name): data})


def from_upload(name: str, data: bytes) -> Bundle:
    """An uploaded file, by its name: a zipped bundle or one .bpmn (anything else is named as refused)."""
    if name.lower().endswith(".zip"):
        return from_zip(data, name)
    if name.lower().endswith(".bpmn"):
        return from_bpmn(name, data)
    raise InvalidData([{"field": "file", "reason": f"只接受 .bpmn 或 .zip 文件 ({name!r} is neither .bpmn nor .zip)"}])
