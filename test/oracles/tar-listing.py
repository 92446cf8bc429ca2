"""Check a docker-archive's store layers against the files they came from.

Reads the archive with Python's tarfile and computes, with pathlib and
os.lstat, the entries nixpkgs' streaming script would write for the same
store paths (order, type, mode, size, link target, content). Prints one
JSON line per layer: {"entries": N, "mismatches": [...]}.

usage: tar-listing.py ARCHIVE STORE_DIR MTIME UID GID UNAME GNAME
"""
import hashlib, json, os, pathlib, stat, sys, tarfile

archive, store_dir, mtime, uid, gid, uname, gname = sys.argv[1:8]
mtime, uid, gid = int(mtime), int(uid), int(gid)

def expected_entries(paths):
    parts = store_dir.strip("/").split("/")
    for i in range(len(parts)):
        yield "/" + "/".join(parts[: i + 1]), None
    for p in paths:
        p = pathlib.Path(p)
        files = [p] if p.is_symlink() else [p, *p.rglob("*")]
        for f in sorted(files):
            yield str(f), f

def digest(f):
    h = hashlib.sha256()
    with open(f, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

outer = tarfile.open(archive)
manifest = json.load(outer.extractfile("manifest.json"))[0]
config = json.load(outer.extractfile(manifest["Config"]))
for layer_name, history in zip(manifest["Layers"], config["history"]):
    comment = history["comment"]
    if not comment.startswith("store paths: ['" + store_dir):
        continue
    paths = eval(comment[len("store paths: "):])
    layer = tarfile.open(fileobj=outer.extractfile(layer_name), mode="r|")
    mismatches = []
    members = iter(layer)
    count = 0
    for name, f in expected_entries(paths):
        m = next(members, None)
        count += 1
        if m is None:
            mismatches.append(["missing", name]); break
        if m.name != name.lstrip("/") and m.name != name:
            mismatches.append(["name", name, m.name]); break
        if (m.mtime, m.uid, m.gid, m.uname, m.gname) != (mtime, uid, gid, uname, gname):
            mismatches.append(["owner", name])
        if f is None:
            if not m.isdir() or m.mode != 0o755: mismatches.append(["storedir", name])
            continue
        st = os.lstat(f)
        if stat.S_IMODE(st.st_mode) != m.mode: mismatches.append(["mode", name, oct(m.mode)])
        if stat.S_ISREG(st.st_mode):
            if not m.isfile() or m.size != st.st_size: mismatches.append(["file", name, m.size])
            elif hashlib.sha256(layer.extractfile(m).read()).hexdigest() != digest(f): mismatches.append(["content", name])
        elif stat.S_ISDIR(st.st_mode):
            if not m.isdir(): mismatches.append(["dir", name])
        elif stat.S_ISLNK(st.st_mode):
            if not m.issym() or m.linkname != os.readlink(f): mismatches.append(["symlink", name, m.linkname])
        elif stat.S_ISFIFO(st.st_mode):
            if not m.isfifo(): mismatches.append(["fifo", name])
        elif stat.S_ISCHR(st.st_mode):
            if not m.ischr() or (m.devmajor, m.devminor) != (os.major(st.st_rdev), os.minor(st.st_rdev)): mismatches.append(["chr", name])
    if next(members, None) is not None:
        mismatches.append(["extra entries after", name])
    print(json.dumps({"entries": count, "mismatches": mismatches}, ensure_ascii=True))
