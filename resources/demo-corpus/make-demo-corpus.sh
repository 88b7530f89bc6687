#!/usr/bin/env bash
# make-demo-corpus.sh: build the multi-domain demo corpus shipped with MoIN Studio.
#
# Every text comes from a Debian 12 (bookworm) package; nothing is downloaded
# from anywhere else. Output (next to this script):
#   <domain>.jsonl   one document per line:
#                    {"text": ..., "domain": ..., "source": <package>, "id": ...}
#   domains.tsv      domain, file, package, licence, documents, words
# The output is deterministic: same package versions give the same bytes.
#
# Usage:   bash resources/demo-corpus/make-demo-corpus.sh
# Env:     MOIN_CORPUS_INSTALL=0  never apt-get install; fetch missing packages
#                                 with `apt-get download` and unpack them in a
#                                 temporary directory instead (needs no root).
#
# Packages: bible-kjv + bible-kjv-text (KJV Bible and the `bible` reader),
# dict-jargon, dict-foldoc, dict-gcide (dictd databases, read directly from
# the .dict.dz/.index files), r-cran-janeaustenr (Jane Austen's novels; always
# just downloaded and unpacked unless already installed, so that R itself is
# not pulled in). Parsing and cleaning is done by python3 (stdlib only).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INSTALL="${MOIN_CORPUS_INSTALL:-1}"
INSTALLABLE=(bible-kjv bible-kjv-text dict-jargon dict-foldoc dict-gcide)
EXTRACT_ONLY=(r-cran-janeaustenr)
# Versions the committed corpus was built from (other versions still work,
# but the output may differ; a warning is printed).
declare -A EXPECTED=(
  [bible-kjv]=4.38 [bible-kjv-text]=4.38 [dict-jargon]=4.4.7-3.1
  [dict-foldoc]=20230119-1 [dict-gcide]=0.48.5+nmu2 [r-cran-janeaustenr]=1.0.0-1
)

command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
APT_OPTS=()
if [ "$(id -u)" -eq 0 ]; then APT_OPTS=(-o APT::Sandbox::User=root); fi
UPDATED=0
apt_update_once() {
  if [ "$UPDATED" -eq 0 ]; then
    UPDATED=1
    "${SUDO[@]}" apt-get update -qq || true
  fi
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# (a) install what is missing
if [ "$INSTALL" = 1 ]; then
  missing=()
  for p in "${INSTALLABLE[@]}"; do installed "$p" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
      apt_update_once
      "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
  fi
fi

# package -> root directory holding its files ('/' when installed)
declare -A ROOT VERSION
for p in "${INSTALLABLE[@]}" "${EXTRACT_ONLY[@]}"; do
  if installed "$p"; then
    ROOT[$p]=/
    VERSION[$p]="$(dpkg-query -W -f='${Version}' "$p")"
  else
    echo "fetching $p (apt-get download, unpacked in a temporary directory)"
    mkdir -p "$WORK/deb"
    if ! (cd "$WORK/deb" && apt-get download -qq "${APT_OPTS[@]}" "$p" >/dev/null 2>&1); then
      apt_update_once
      (cd "$WORK/deb" && apt-get download -qq "${APT_OPTS[@]}" "$p" >/dev/null)
    fi
    deb="$(ls "$WORK"/deb/"${p}"_*.deb | head -n1)"
    dpkg-deb -x "$deb" "$WORK/root-$p"
    ROOT[$p]="$WORK/root-$p"
    VERSION[$p]="$(dpkg-deb -f "$deb" Version)"
  fi
  if [ "${VERSION[$p]}" != "${EXPECTED[$p]}" ]; then
    echo "warning: $p ${VERSION[$p]} differs from ${EXPECTED[$p]} used for the committed corpus" >&2
  fi
done

roots_json="{"
sep=""
for p in "${!ROOT[@]}"; do roots_json+="$sep\"$p\": \"${ROOT[$p]}\""; sep=", "; done
roots_json+="}"

# (b)+(c) extract, clean, write <domain>.jsonl and domains.tsv
echo "building corpus in $HERE"
python3 - "$HERE" "$roots_json" <<'PY'
#!/usr/bin/env python3
"""Build the MoIN Studio demo corpus (stdlib only). See README.md."""
import gzip, hashlib, json, math, os, re, struct, subprocess, sys, unicodedata, zlib

OUT = sys.argv[1]
ROOTS = json.loads(sys.argv[2])    # package -> filesystem root holding its files ('/' if installed)
CAP = 950_000                      # max UTF-8 bytes of text per domain (deterministic sample)
MIN_W, MAX_W = 50, 400             # target document size in words

def pkgfile(pkg, path):
    return os.path.join(ROOTS[pkg], path.lstrip('/'))

def words(s):
    return len(s.split())

def reflow(lines):
    return re.sub(r'\s+', ' ', ' '.join(l.strip() for l in lines)).strip()

def paragraphs(text):
    """Split on blank lines -> list of list-of-lines."""
    out, cur = [], []
    for line in text.split('\n'):
        if line.strip():
            cur.append(line)
        elif cur:
            out.append(cur); cur = []
    if cur:
        out.append(cur)
    return out

def balanced_split(pieces, max_w=MAX_W):
    """Split a list of text pieces into consecutive groups of <= ~max_w words,
    balanced in size. Pieces that alone exceed max_w are split at sentences."""
    flat = []
    for p in pieces:
        if words(p) > max_w:
            sents = re.split(r'(?<=[.!?;:])\s+', p)
            buf = []
            for s in sents:
                if buf and words(' '.join(buf + [s])) > max_w:
                    flat.append(' '.join(buf)); buf = []
                buf.append(s)
            if buf:
                flat.append(' '.join(buf))
        else:
            flat.append(p)
    total = sum(words(p) for p in flat)
    n = max(1, math.ceil(total / max_w))
    while True:
        target = total / n
        groups, cur, acc, k = [], [], 0, 1
        for p in flat:
            w = words(p)
            if cur and acc + w / 2 > target * k:
                groups.append(cur); cur = []; k += 1
            cur.append(p); acc += w
        if cur:
            groups.append(cur)
        if all(sum(words(x) for x in g) <= max_w for g in groups) or n >= len(flat):
            return groups
        n += 1

# ---------------------------------------------------------------- dictd files
B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
def b64(s):
    v = 0
    for c in s:
        v = v * 64 + B64.index(c)
    return v

def dict_entries(name):
    pkg = f'dict-{name}'
    data = gzip.open(pkgfile(pkg, f'/usr/share/dictd/{name}.dict.dz')).read()   # dictzip is gzip
    spans = set()
    with open(pkgfile(pkg, f'/usr/share/dictd/{name}.index'), encoding='utf-8') as f:
        for line in f:
            hw, off, ln = line.rstrip('\n').split('\t')[:3]
            if hw.startswith('00-database') or hw.startswith('00database'):
                continue
            spans.add((b64(off), b64(ln)))
    for off, ln in sorted(spans):
        raw = data[off:off + ln]
        try:
            yield raw.decode('utf-8')
        except UnicodeDecodeError:             # a few GCIDE entries are cp1252
            yield raw.decode('cp1252', errors='replace')

def merge_entries(entries):
    """entries: list of (headword, [paragraph, ...]) in natural order.
    Returns units: list of (unit_id, [(doc_id, text), ...])."""
    units, buf = [], []
    seen = {}
    def uid(s):
        s = s[:80]
        seen[s] = seen.get(s, 0) + 1
        return s if seen[s] == 1 else f'{s}#{seen[s]}'
    def flush():
        if not buf:
            return
        hw = buf[0][0] if len(buf) == 1 else f'{buf[0][0]} .. {buf[-1][0]}'
        i = uid(hw)
        units.append((i, [(i, '\n\n'.join(t for _, t in buf))]))
        buf.clear()
    for hw, paras in entries:
        text = '\n\n'.join(paras)
        w = words(text)
        if w > MAX_W:
            flush()
            groups = balanced_split(paras)
            i = uid(hw)
            units.append((i, [(f'{i}#part{k + 1}', '\n\n'.join(g)) for k, g in enumerate(groups)]))
            continue
        if buf and sum(words(t) for _, t in buf) + w > MAX_W:
            flush()
        buf.append((hw, text))
        if sum(words(t) for _, t in buf) >= MIN_W:
            flush()
    flush()
    return units

EMAIL = re.compile(r'\s*[<(]?(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+[>)]?')
URL_PAREN = re.compile(r'\s*\((?:https?|ftp|gopher|telnet|news|mailto):[^()\s]*(?:\([^()\s]*\)[^()\s]*)*\)')

def tidy(t):
    t = EMAIL.sub('', t).replace('\xad', '')
    t = re.sub(r'\b(?:E-?mail|Mail|Contact|Address|Tel|Fax)\s*:\s*(?=[.,;]|$)[.,;]?', '', t, flags=re.I)
    t = re.sub(r'[{}]', '', t)                 # unbalanced leftovers
    t = re.sub(r'\(\s*\)', '', t)
    t = re.sub(r'[ \t]+', ' ', t)
    t = re.sub(r' ([,;.:)])', r'\1', t)
    t = re.sub(r'(?<!\.)\.\.(?=\s|$)', '.', t)
    t = t.strip()
    return t if re.search(r'\w\w', t) else ''

CODE = re.compile(r'::=|\(\);|\)\s*\{\s*$|==>|#define|#include|printf|^\s*[{}]\s*$|^\s*(?:\$|%|>|>>)\s')

def table_like(lines):
    """Code, tables, diagrams: many lines with internal column gaps or code syntax."""
    if len(lines) < 2:
        return False
    gaps = sum(bool(re.search(r'[^\s.!?:;,)\]"] {2,}\S|\S {3,}\S|\t', l.strip())) for l in lines)
    code = sum(bool(CODE.search(l.replace('\xa0', ' '))) for l in lines)
    return gaps * 2 >= len(lines) or code * 2 >= len(lines) or any(c in ''.join(lines) for c in '│┌└├')

def prose_ok(lines, min_ratio=0.65):
    """Reject ASCII art and symbol soup: share of letters/digits among visible characters."""
    s = re.sub(r'[{}\[\]"\'\u2018\u2019\u201c\u201d.,;:!?()\u2014-]', '', ''.join(''.join(l.split()) for l in lines))
    if not s:
        return False
    return sum(c.isalnum() for c in s) / len(s) >= min_ratio

# ---------------------------------------------------------------- jargon
def jargon():
    out = []
    for chunk in dict_entries('jargon'):
        lines = chunk.split('\n')
        hw = lines[0].strip()
        pos = ''
        rest = lines[1:]
        if rest and rest[0].strip() and rest[0][0].isspace():
            line = rest[0].strip()
            if line.startswith('/') or len(line) < 40:      # pronunciation and/or part of speech
                pos = re.sub(r'\s+', ' ', re.sub(r'/[^/]*/', '', line)).strip(' ,')
                rest = rest[1:]
        paras = []
        rest = re.sub(r'\}\n\s*(s|es|ed|ing)\b', r'}\1', '\n'.join(rest)).split('\n')
        for p in paragraphs('\n'.join(rest)):
            if re.fullmatch(r'\[[^\]]*[A-Za-z][^\]]*\]', reflow(p)):
                pass                            # usage label such as [IBM], [MIT]
            elif not prose_ok(p) or table_like(p):
                continue
            t = reflow(p)
            paras.append(t)
        if not paras:
            continue
        body = ' '.join(paras)
        if re.fullmatch(r'(?:See(?: also)?:?\s*)?(?:\{[^}]*\}[,.]?\s*(?:and|or)?\s*)+', body):
            continue                            # pure cross-reference
        paras = [tidy(URL_PAREN.sub('', re.sub(r'\{([^{}]*)\}', r'\1', t))) for t in paras]
        paras = [t for t in paras if t]
        head = f'{hw} ({pos})' if pos else hw
        paras[0] = f'{head}: {paras[0]}'
        if words(' '.join(paras)) < 4:
            continue
        out.append((hw, paras))
    return merge_entries(out)

# ---------------------------------------------------------------- foldoc
def debian_headwords():
    hws = set()
    try:
        lines = open(pkgfile('dict-foldoc', '/usr/share/doc/dict-foldoc/Dictionary.debian'), encoding='utf-8', errors='replace').read().split('\n')
    except OSError:
        return hws
    for l in lines[1:]:
        if l and not l[0].isspace():
            hws.add(l.strip().lower())
    return hws

def foldoc():
    deb = debian_headwords()
    out = []
    for chunk in dict_entries('foldoc'):
        lines = chunk.split('\n')
        heads = []
        i = 0
        while i < len(lines) and lines[i].strip() and not lines[i][0].isspace():
            heads.append(lines[i].strip()); i += 1
        if not heads:
            continue
        hw = heads[0]
        body = '\n'.join(lines[i:])
        body = re.sub(r'\n[ \t]*\n(?=\((?:https?|ftp|gopher|telnet|news|mailto):)', ' ', body)
        if 'Jargon File' in body:               # shared with the hacker-culture domain
            continue
        if any(h.lower() in deb for h in heads):
            continue                            # Debian additions (different licence)
        paras = []
        cats = ''
        for p in paragraphs(body):
            if table_like(p):
                continue
            t = reflow(p)
            # paragraphs made only of hyperlinks, or only of a bracketed citation
            if re.fullmatch(r'(?:[\s,.;:]|and|or|See|also|\{[^{}]*\((?:[a-z]+:|[^()\s]*\.html?)[^()]*\)\})+', t):
                continue
            if re.fullmatch(r'\[.*\][.,]?', t):
                continue
            if not paras and not cats:
                m = re.match(r'^<([^>]*)>\s*(.*)$', t)
                if m:
                    cats, t = m.group(1).strip(), m.group(2)
                    # leading pronunciation /.../
                    t = re.sub(r'^/[^/\s][^/]*/(?:\s*or\s*/[^/]*/)*\s*,?\s*', '', t)
            if re.fullmatch(r'\(\d{4}-\d{2}-\d{2}\)', t) or re.fullmatch(r'\(\d{4}-?\d*-?\d*\)\.?', t):
                continue                        # last-updated date
            if not t or not prose_ok([t]):
                continue
            t = re.sub(r'\{([^{}]*?)\s*\((?:[a-z]+:|[^()\s]*\.html?|[^()\s]*/)[^()]*\)\}', r'\1', t)  # {text (url)}
            t = re.sub(r'\{([^{}():]+?)\s*\([^(){}:]*\)\}', r'\1', t)   # {text (target entry)}
            t = re.sub(r'\{([^{}]*)\}', r'\1', t)
            t = re.sub(r'\s+\(\d{4}-\d{2}-\d{2}\)$', '', t)
            t = re.sub(r'^(\d+\.\s*)?<([A-Za-z][\w ,/\-]*)>\s*', r'\1(\2) ', t)   # sense category
            t = tidy(URL_PAREN.sub('', t))
            if t:
                paras.append(t)
        if not paras:
            continue
        if 'introduction' in cats or 'Debian' in cats:
            continue
        body = ' '.join(paras)
        if words(body) < 4:
            continue                            # cross-reference stubs
        head = f'{hw} ({cats})' if cats else hw
        paras[0] = f'{head}: {paras[0]}'
        out.append((hw, paras))
    return merge_entries(out)

# ---------------------------------------------------------------- gcide
ACC = {"'": '\u0301', '`': '\u0300', '^': '\u0302', '"': '\u0308', '~': '\u0303',
       '=': '\u0304', '.': '\u0323', ',': '\u0327', '-': '\u0304', '*': '\u030a'}
NAMED = {'ae': 'æ', 'AE': 'Æ', 'oe': 'œ', 'OE': 'Œ', 'eth': 'ð', 'thorn': 'þ', 'THORN': 'Þ',
         'yogh': 'ȝ', 'deg': '°', 'sect': '§', 'root': '√', 'imac': 'ī', 'ng': 'ŋ', 'th': 'th',
         'asl': 'ʼ', 'add': 'ạ', 'udd': 'ụ', 'aum': 'ä', 'bar': '|', 'dsdot': 'ḍ', 'pound': '£',
         'frac12': '½', 'frac14': '¼', 'frac34': '¾', 'middot': '·', 'times': '×', 'divide': '÷',
         'prime': '′', 'dprime': '″', 'para': '¶', 'cent': '¢', 'amac': 'ā', 'emac': 'ē',
         'omac': 'ō', 'umac': 'ū', 'ymac': 'ȳ', 'ait': 'ʿ', 'lt': '<', 'gt': '>', 'dagger': '†',
         'hand': '☞', 'flat': '♭', 'sharp': '♯', 'natural': '♮', 'oomac': 'o͞o', 'oocr': 'o͝o',
         'nbsp': ' ', 'break': ' ', 'div': '÷', 'min': '′', 'sec': '″', 'bprime': '″', 'pounds': '£',
         'zdot': 'ż', 'rarr': '→', 'larr': '←', 'crescent': '☾', 'cre': '˘', 'minus': '−'}
GREEK = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega'.split()
for k, name in enumerate(GREEK):
    NAMED[name] = chr(0x3b1 + k + (1 if k >= 17 else 0))
    NAMED[name.capitalize()] = chr(0x391 + k + (1 if k >= 17 else 0))
NAMED['oo^'] = 'o͝o'; NAMED['=oo'] = 'o͞o'; NAMED['=ae'] = 'ǣ'

def gcide_code(m):
    c = m.group(1)
    if c in NAMED:
        return NAMED[c]
    mm = re.fullmatch(r"(['`^\"~=.,\-*])([A-Za-z]{1,2})", c)
    if mm:
        return unicodedata.normalize('NFC', mm.group(2)[0] + ACC[mm.group(1)] + mm.group(2)[1:])
    mm = re.fullmatch(r'([A-Za-z]{1,2})\^', c)
    if mm:
        return unicodedata.normalize('NFC', mm.group(1)[0] + '\u0306' + mm.group(1)[1:])
    return m.group(0)

GSRC = re.compile(r'\s*\[(?:1913 Webster|Webster 1913(?: Suppl\.)?|Webster|WordNet[^\]]*|[^\]]*\bPJC\b[^\]]*|'
                  r'RDH|RHUD|Stedman|GG|Century Dict\.[^\]]*|DOD|U\.S\. Gov[^\]]*|Chambers 1728|Rog\.|MW\d*|NetDict|'
                  r'[^\]]*\+ ?[A-Z]{2,4}[^\]]*)\]')

def gcide_clean(t, header):
    t = GSRC.sub('', t)
    t = re.sub(r'\s*\[[^\[\]]*(?:\w\?|\?\w)[^\[\]]*\]', '', t)   # etymologies with lost characters
    if header:
        t = re.sub(r'\s*\\[^\\]*\\', '', t)                       # syllabification
        t = re.sub(r'\s*\((?=[^()]*(?:\[[^\]\s]{1,6}\]|[*"`]))[^()]*\)', '', t)  # pronunciation
    t = re.sub(r'\s*\(-[^()\s]*\)', '', t)                        # inflection pronunciation
    t = re.sub(r'\s*\((?=[^()\s]*[*"`?])[^()\s]*\)', '', t)        # run-on pronunciation
    t = re.sub(r'\s*\[(?:Narrower|Broader|Also See|See also)[^\]]*\]?', '', t)
    t = re.sub(r'(?<=[A-Za-z\]])["*`]+(?=[A-Za-z\[])', '', t)      # Ach"ing*ly -> Achingly
    t = re.sub(r'(?<=[A-Za-z])["`](?=[,;. ])', '', t)
    t = re.sub(r'\[([^\[\]\s]{1,7})\]', gcide_code, t)
    t = re.sub(r'\{([^{}]*)\}', r'\1', t)
    return tidy(t)

def gcide():
    out = []
    for chunk in dict_entries('gcide'):
        ps = paragraphs(chunk)
        if not ps:
            continue
        first = reflow(ps[0])
        m = re.match(r'^([^\\\n]+?)\s*\\', first)
        if not m:
            continue
        hw = m.group(1).strip()
        paras = []
        for k, p in enumerate(ps):
            t = gcide_clean(reflow(p), k == 0)
            if not t or not prose_ok([t]) or t.count('|') > 3:
                continue
            paras.append(t)
        if not paras or words(' '.join(paras)) < 3:
            continue
        out.append((hw, paras))
    return merge_entries(out)

# ---------------------------------------------------------------- KJV bible
def scripture():
    txt = subprocess.run([pkgfile('bible-kjv', '/usr/bin/bible'), '-p', pkgfile('bible-kjv-text', '/usr/lib'),
                          '-m', '8192', '-l', '100000', 'gen1:1-rev22:21'],
                         check=True, capture_output=True, encoding='utf-8').stdout
    units, book, chap, verses = [], None, None, []
    def flush():
        if not verses:
            return
        cid = f'{book} {chap}'
        texts = [v for _, v in verses]
        if words(' '.join(texts)) <= MAX_W:
            docs = [(cid, '\n'.join(texts))]
        else:
            docs, i = [], 0
            for g in balanced_split(texts):
                a, b = verses[i][0], verses[i + len(g) - 1][0]
                docs.append((f'{cid}:{a}-{b}', '\n'.join(g)))
                i += len(g)
        units.append((cid, docs))
        verses.clear()
    for line in txt.split('\n'):
        m = re.match(r'^(\S.*) (\d+)$', line)
        if m:
            flush(); book, chap = m.group(1), int(m.group(2)); continue
        m = re.match(r'^\s+(\d+) (.*)$', line)
        if m:
            verses.append((int(m.group(1)), m.group(2).strip()))
    flush()
    return units

# ---------------------------------------------------------------- Jane Austen
class RUnserialize:
    """Minimal reader for R's XDR serialization (character vectors, lists)."""
    def __init__(self, b):
        self.b, self.p, self.refs = b, 0, []
    def i(self):
        v = struct.unpack_from('>i', self.b, self.p)[0]; self.p += 4; return v
    def raw(self, n):
        v = self.b[self.p:self.p + n]; self.p += n; return v
    def run(self):
        assert self.raw(2) == b'X\n', 'not an XDR R serialization'
        ver = self.i(); self.i(); self.i()
        if ver == 3:
            self.raw(self.i())
        return self.item()
    def length(self):
        n = self.i()
        if n == -1:
            n = (self.i() << 32) + self.i()
        return n
    def item(self):
        f = self.i()
        t, has_attr, has_tag, lev = f & 0xFF, f & 0x200, f & 0x400, f >> 12
        if t in (254, 253, 252, 251, 250, 242, 241):
            return None
        if t == 255:
            idx = f >> 8
            return self.refs[(idx or self.i()) - 1]
        if t == 1:
            s = ('sym', self.item()); self.refs.append(s); return s
        if t in (2, 3, 5, 6, 17, 239, 240):
            attr = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car, cdr = self.item(), self.item()
            return [(tag[1] if tag else None, car)] + (cdr if isinstance(cdr, list) else [])
        if t == 9:
            n = self.i()
            return None if n == -1 else self.raw(n).decode('latin-1' if lev & 4 else 'utf-8')
        if t in (10, 13):
            n = self.length(); v = list(struct.unpack_from(f'>{n}i', self.b, self.p)); self.p += 4 * n
        elif t == 14:
            n = self.length(); v = list(struct.unpack_from(f'>{n}d', self.b, self.p)); self.p += 8 * n
        elif t in (16, 19, 20):
            v = [self.item() for _ in range(self.length())]
        elif t == 24:
            v = self.raw(self.length())
        else:
            raise ValueError(f'unsupported R type {t}')
        if has_attr:
            return ('attr', v, self.item())
        return v

def austen_books():
    """The novels are character vectors in the R lazy-load database data/Rdata.{rdx,rdb}."""
    AUSTEN_DIR = pkgfile('r-cran-janeaustenr', '/usr/lib/R/site-library/janeaustenr/data')
    idx = RUnserialize(gzip.open(os.path.join(AUSTEN_DIR, 'Rdata.rdx')).read()).run()
    top = dict(zip(dict(idx[2])['names'], idx[1]))
    variables = top['variables']
    offsets, names = variables[1], dict(variables[2])['names']
    db = open(os.path.join(AUSTEN_DIR, 'Rdata.rdb'), 'rb').read()
    books = {}
    for (off, ln), name in zip(offsets, names):
        blob = db[off:off + ln]
        raw = zlib.decompress(blob[4:])
        assert len(raw) == struct.unpack('>I', blob[:4])[0]
        books[name] = RUnserialize(raw).run()
    return books

TITLES = {'sensesensibility': 'Sense and Sensibility', 'prideprejudice': 'Pride and Prejudice',
          'mansfieldpark': 'Mansfield Park', 'emma': 'Emma',
          'northangerabbey': 'Northanger Abbey', 'persuasion': 'Persuasion'}
ORDER = ['sensesensibility', 'prideprejudice', 'mansfieldpark', 'emma', 'northangerabbey', 'persuasion']

def fiction():
    books = austen_books()
    units = []
    for key in ORDER:
        lines = [l or '' for l in books[key]]
        chapters, cur, started = [], None, False
        for l in lines:
            s = l.strip()
            if re.fullmatch(r'(?:CHAPTER|Chapter)\s+(?:[IVXLC]+|\d+)\.?', s):
                started = True
                cur = []; chapters.append(cur); continue
            if not started:
                continue
            if re.fullmatch(r'VOLUME\s+[IVX]+|THE END|FINIS|Finis', s):
                continue
            if s == 'A NOTE ON THE TEXT':       # later editorial note (Northanger Abbey)
                break
            cur.append(l)
        for ci, ch in enumerate(chapters, 1):
            paras = [re.sub(r'_', '', reflow(p)) for p in paragraphs('\n'.join(ch))]
            paras = [p for p in paras if p and not re.fullmatch(r'\[.*\]', p)]   # editors' notes
            cid = f'{key}:{ci:02d}'
            groups = balanced_split(paras)
            docs = [(f'{cid}:{k + 1}' if len(groups) > 1 else cid, '\n\n'.join(g)) for k, g in enumerate(groups)]
            units.append((cid, docs))
    return units

# ---------------------------------------------------------------- output
def sample(domain, units):
    """Deterministic cap: keep units in sha256(domain, unit id) order until CAP bytes."""
    size = {u: sum(len(t.encode()) for _, t in docs) for u, docs in units}
    keep, total = set(), 0
    for u, _ in sorted(units, key=lambda x: hashlib.sha256(f'{domain}\0{x[0]}'.encode()).hexdigest()):
        if total + size[u] <= CAP:
            keep.add(u); total += size[u]
    return [(u, d) for u, d in units if u in keep]

DOMAINS = [
    # domain, package, licence (short; details in README.md), builder
    ('scripture', 'bible-kjv-text', 'public domain (King James Version, 1611)', scripture),
    ('fiction', 'r-cran-janeaustenr', 'public domain (novels, 1811-1818); MIT (R package)', fiction),
    ('hacker-culture', 'dict-jargon', 'public domain (Jargon File 4.4.7)', jargon),
    ('computing', 'dict-foldoc', 'GFDL-1.1-or-later, no invariant sections (FOLDOC)', foldoc),
    ('lexicon', 'dict-gcide', 'GPL-2.0-or-later (GCIDE 0.48)', gcide),
]

def main():
    rows = [('domain', 'file', 'package', 'licence', 'documents', 'words')]
    for domain, pkg, licence, build in DOMAINS:
        units = sample(domain, build())
        path = os.path.join(OUT, f'{domain}.jsonl')
        n = w = 0
        with open(path + '.tmp', 'w', encoding='utf-8', newline='\n') as f:
            for _, docs in units:
                for did, text in docs:
                    text = unicodedata.normalize('NFC', text)
                    f.write(json.dumps({'text': text, 'domain': domain, 'source': pkg, 'id': did},
                                       ensure_ascii=False) + '\n')
                    n += 1; w += words(text)
        os.replace(path + '.tmp', path)
        # self-check: every line is a JSON object with the four fields, ids unique
        ids = set()
        with open(path, encoding='utf-8') as f:
            for line in f:
                d = json.loads(line)
                assert set(d) == {'text', 'domain', 'source', 'id'} and d['text'] and d['id'] not in ids, d.get('id')
                ids.add(d['id'])
        rows.append((domain, f'{domain}.jsonl', pkg, licence, str(n), str(w)))
        print(f'  {domain:15s} {n:6d} docs {w:8d} words {os.path.getsize(path):9d} bytes')
    with open(os.path.join(OUT, 'domains.tsv'), 'w', encoding='utf-8', newline='\n') as f:
        for r in rows:
            f.write('\t'.join(r) + '\n')

if __name__ == '__main__':
    main()
PY
echo "done"
