#!/usr/bin/env python3
# Generates the seed corpora of the fuzz targets under tests/fuzz/corpus.
# The committed seeds came from this script; run it again (it needs the
# Python "cryptography" package) to add fresh keys:
#   python3 tests/fuzz/seeds.py tests/fuzz/corpus
# Each target's input format is described at the top of its fuzz_<t>.c.
import json, base64, os, struct, sys
from cryptography.hazmat.primitives.asymmetric import rsa, ec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

C = sys.argv[1]  # corpus root
FULL_CONFIG = '''data = /var/lib/skr
listen = 0.0.0.0:8443
threads = 0                 # 0: one event loop per core
max_body = 1048576
max_connections = 4096
header_timeout = 10
idle_timeout = 60
shutdown_timeout = 10
token_skew = 60
nonce_ttl = 300
retention_days = 90
release_alg = RS256
require_releaser = false
deny_detail = names
auth_fail_limit = 10
auth_fail_window = 60
release_limit = 300
release_window = 60
store_map_size = 1073741824
log_level = info

[authority]
issuer = https://sharedweu.weu.attest.azure.net
source = oidc
algs = RS256

[authority]
issuer = https://x.test#frag
source = /etc/skr/x.json
x5c_ca = /etc/skr/maa-roots.pem
wrapkey_claim = x-ms-runtime.keys
'''
conf = '/work/shared/conformance'

def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
def ib(i, n=None):
    n = n or (i.bit_length() + 7)//8
    return i.to_bytes(n, 'big')
def w(t, name, data):
    os.makedirs(f'{C}/{t}', exist_ok=True)
    if isinstance(data, str): data = data.encode()
    open(f'{C}/{t}/{name}', 'wb').write(data)

def rsa_jwk(k, priv=True):
    pn = k.private_numbers(); pub = pn.public_numbers
    j = {'kty':'RSA','n':b64u(ib(pub.n)),'e':b64u(ib(pub.e))}
    if priv:
        j.update(d=b64u(ib(pn.d)),p=b64u(ib(pn.p)),q=b64u(ib(pn.q)),dp=b64u(ib(pn.dmp1)),dq=b64u(ib(pn.dmq1)),qi=b64u(ib(pn.iqmp)))
    return j
def ec_jwk(k, crv, n, priv=True):
    pn = k.private_numbers(); pub = pn.public_numbers
    j = {'kty':'EC','crv':crv,'x':b64u(ib(pub.x,n)),'y':b64u(ib(pub.y,n))}
    if priv: j['d'] = b64u(ib(pn.private_value,n))
    return j

r2 = rsa.generate_private_key(65537, 2048)
e256 = ec.generate_private_key(ec.SECP256R1()); e384 = ec.generate_private_key(ec.SECP384R1()); e521 = ec.generate_private_key(ec.SECP521R1())
keys = {
 'rsa2048-private': rsa_jwk(r2), 'rsa2048-public': rsa_jwk(r2, False),
 'ec256-private': ec_jwk(e256,'P-256',32), 'ec256-public': ec_jwk(e256,'P-256',32,False),
 'ec384-private': ec_jwk(e384,'P-384',48), 'ec521-private': ec_jwk(e521,'P-521',66),
 'oct256': {'kty':'oct','k':b64u(os.urandom(32))}, 'oct128-hsm': {'kty':'oct-HSM','k':b64u(os.urandom(16))},
 'rsa-hsm-kv-exponent': dict(rsa_jwk(r2, False), kty='RSA-HSM', e='AAEAAQ', kid='https://v.vault.azure.net/keys/k/1'),
}
# jwk: first byte picks flags 0/1/2
for name, j in keys.items():
    for f in (0, 1, 2):
        w('jwk', f'{name}-f{f}', bytes([f]) + json.dumps(j).encode())
w('jwk', 'bad-ec-offcurve', b'\x00' + json.dumps(dict(keys['ec256-public'], y=keys['ec256-public']['x'])).encode())
w('jwk', 'bad-rsa-partial', b'\x00' + json.dumps({k:v for k,v in keys['rsa2048-private'].items() if k!='qi'}).encode())
# jwks: conformance sets and built ones
for fn in ('maa-weu-jwks.json', 'maa-eus-certs.json'):
    if os.path.exists(f'{conf}/{fn}'): w('jwks', fn.replace('.json',''), open(f'{conf}/{fn}','rb').read())
w('jwks', 'mixed', json.dumps({'keys':[dict(keys['rsa2048-public'],kid='r1',use='sig',alg='RS256'), dict(keys['ec256-public'],kid='e1'), dict(keys['oct256'],kid='o1'), dict(keys['ec384-private'], kid='e2', alg='ES384'), {'kty':'RSA','kid':'weak','n':b64u(os.urandom(64)),'e':'AQAB'}, dict(keys['ec256-public'],kid='e1')]}))
w('jwks', 'empty', '{"keys":[]}')
# config
w('config', 'full', FULL_CONFIG)
w('config', 'minimal', 'data = /var/lib/skr\nlisten = 127.0.0.1:8443\n')
w('config', 'bad-dup', 'threads = 1\nthreads = 2\n[authority]\nissuer = https://x\n')

for name, text in [('v4', '127.0.0.1:8443'), ('v6', '[::1]:0'),
                   ('localhost', 'localhost:65535'), ('any', '0.0.0.0:1'),
                   ('v6-any', '[::]:443'), ('v6-bare', '::1:9'),
                   ('v4-mapped', '[::ffff:127.0.0.1]:80'),
                   ('bad-port', '127.0.0.1:65536'), ('bad-sign', '127.0.0.1:+80'),
                   ('bad-name', 'example.com:443'), ('bad-bracket', '[::1:80')]:
    w('listen', name, text)
# key_hsm: mode byte: bits0-1 mode, bits 2-3 enc
def keyhsm(enc, ct, kid='w1', **kw):
    o = {'schema_version':'1.0','header':{'kid':kid,'alg':'dir','enc':enc},'ciphertext':b64u(ct)}
    o.update(kw)
    return b64u(json.dumps(o).encode())
for i, enc in enumerate(('CKM_RSA_AES_KEY_WRAP','RSA_AES_KEY_WRAP_256','RSA_AES_KEY_WRAP_384')):
    w('keyhsm', f'envelope-{i}', bytes([0 | (i<<2)]) + keyhsm(enc, os.urandom(256+40)).encode())
    w('keyhsm', f'raw-{i}', bytes([1 | (i<<2)]) + os.urandom(256+40))
    w('keyhsm', f'roundtrip-{i}', bytes([3 | (i<<2)]) + os.urandom(32))
w('keyhsm', 'kwp-short', bytes([2]) + os.urandom(16))
w('keyhsm', 'kwp-40', bytes([2]) + os.urandom(40))
w('keyhsm', 'envelope-bad-alg', b'\x00' + b64u(json.dumps({'schema_version':'1.0','header':{'kid':'w','alg':'RSA-OAEP','enc':'CKM_RSA_AES_KEY_WRAP'},'ciphertext':'AA'}).encode()).encode())
# seal: 0 open, 1 seal roundtrip, 2 private bytes
w('seal', 'open-random', b'\x00\x01' + os.urandom(12+32+16))
w('seal', 'roundtrip', b'\x01' + os.urandom(48))
w('seal', 'roundtrip-empty', b'\x01')
w('seal', 'pkcs8-rsa', b'\x02' + r2.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
w('seal', 'pkcs8-ec', b'\x02' + e256.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
w('seal', 'oct32', b'\x02' + os.urandom(32))
# share: 0 the text of an unseal share, 1 an encoded keyring
# (server/seal/shamir.h, server/store/masterkey.h).
import hashlib
def share_text(sid, k, n, x, y):
    body = bytes([1]) + sid + bytes([k, n, x]) + y
    return 'skrs1-' + b64u(body + hashlib.sha256(b'skr/v1/share\0' + body).digest()[:4])
sid = os.urandom(8)
w('share', 'share-3of5', b'\x00' + share_text(sid, 3, 5, 2, os.urandom(32)).encode())
w('share', 'share-line', b'\x00' + ('share 16/16: ' + share_text(sid, 16, 16, 16, os.urandom(32)) + '\n').encode())
w('share', 'share-x0', b'\x00' + share_text(sid, 2, 3, 0, os.urandom(32)).encode())
w('share', 'share-bad-check', b'\x00' + share_text(sid, 2, 3, 1, os.urandom(32)).encode()[:-2] + b'AA')
w('share', 'keyring-legacy', b'\x01' + os.urandom(32))
w('share', 'keyring-two', b'\x01' + b'SKRK\x01\x02' + struct.pack('>I', 1) + os.urandom(32) + struct.pack('>I', 2) + os.urandom(32))
w('share', 'keyring-one', b'\x01' + b'SKRK\x01\x01' + struct.pack('>I', 7) + os.urandom(32))
# backup: 0 raw blob, 1 payload (the target seals it), 2 JSON doc.  The
# target's master key is a0 a1 .. bf, so mode-0 seeds are real blobs,
# sealed here as docs/store.md ("Backup and the security domain") says.
def hkdf(key, salt, info): return HKDF(hashes.SHA256(), 32, salt, info.encode()).derive(key)
def backup_payload(doc, mats):
    dj = json.dumps(doc).encode()
    return struct.pack('>I', len(dj)) + dj + b''.join(struct.pack('>I', len(m)) + m for m in mats)
def backup_blob(payload):
    root = hkdf(bytes(range(0xa0, 0xc0)), None, 'skr/v1/backup-root')
    salt, nonce = os.urandom(16), os.urandom(12)
    hdr = b'SKRB\x01' + salt
    # skr_seal: format byte 1 | nonce | AES-256-GCM with the format byte
    # authenticated before the caller's associated data (the header).
    ct = AESGCM(hkdf(root, salt, 'skr/v1/backup')).encrypt(nonce, payload, b'\x01' + hdr)
    return hdr + b'\x01' + nonce + ct
meta = {'version':'0123456789abcdef0123456789abcdef','kty':'oct-HSM','key_ops':['wrapKey','unwrapKey'],'tags':{'a':'b'},'enabled':True,'nbf':0,'exp':0,'exportable':False,'created':1700000000,'updated':1700000000}
doc = {'format':1,'name':'restored','created':1700000000,'versions':[meta]}
w('backup', 'doc-one-version', b'\x02' + json.dumps(doc).encode())
doc2 = dict(doc, versions=[meta, dict(meta, version='fedcba9876543210fedcba9876543210', exportable=True, policy=open(f'{conf}/policy-cvm-weu.json').read() if os.path.exists(f'{conf}/policy-cvm-weu.json') else '{}')])
w('backup', 'doc-two-versions', b'\x02' + json.dumps(doc2).encode())
w('backup', 'doc-dup-version', b'\x02' + json.dumps(dict(doc, versions=[meta, meta])).encode())
dj = json.dumps(doc).encode(); k = os.urandom(32)
w('backup', 'payload', b'\x01' + struct.pack('>I', len(dj)) + dj + struct.pack('>I', 32) + k)
w('backup', 'raw-header', b'\x00SKRB\x01' + os.urandom(16+29+40))
p1 = backup_payload(doc, [os.urandom(32)])
w('backup', 'blob-one-version', b'\x00' + backup_blob(p1))
w('backup', 'blob-two-versions', b'\x00' + backup_blob(backup_payload(doc2, [os.urandom(32), os.urandom(32)])))
w('backup', 'payload-trailing', b'\x01' + p1 + b'\x00')
w('backup', 'payload-truncated', b'\x01' + p1[:-1])
# routes: method byte, flags byte (1 admin, 2 reader, 4 JSON type, 8 signed target), path, "\n", body
M = {'GET':0,'POST':1,'PUT':2,'PATCH':3,'DELETE':4}
def route(name, method, flags, path, body=b''):
    if isinstance(body, (dict, list)): body = json.dumps(body)
    if isinstance(body, str): body = body.encode()
    w('routes', name, bytes([M[method], flags]) + path.encode() + b'\n' + body)
pol = {'version':'1.0.0','anyOf':[{'authority':'https://a.example','allOf':[{'claim':'x-ms-attestation-type','equals':'sevsnpvm'}]}]}
route('create-oct', 'POST', 5, '/keys/n1/create?api-version=7.4', {'kty':'oct-HSM','key_size':256,'attributes':{'exportable':True},'release_policy':{'data':b64u(json.dumps(pol).encode()),'contentType':'application/json; charset=utf-8','immutable':False}})
route('create-ec', 'POST', 5, '/keys/n2/create', {'kty':'EC','crv':'P-256','key_ops':['sign','verify'],'tags':{'t':'v'}})
route('create-bad', 'POST', 5, '/keys/n3/create', {'kty':'RSA','key_size':1024})
route('import-oct', 'PUT', 5, '/keys/n4', {'key':keys['oct256'],'attributes':{'enabled':True}})
route('import-ec', 'PUT', 5, '/keys/n5', {'key':keys['ec256-private']})
route('get', 'GET', 1, '/keys/k')
route('get-reader', 'GET', 2, '/keys/k/')
route('get-reader-out-of-scope', 'GET', 2, '/keys/r')
route('list', 'GET', 1, '/keys?maxresults=2')
route('versions', 'GET', 1, '/keys/k/versions?maxresults=1')
route('update', 'PATCH', 5, '/keys/k', {'attributes':{'enabled':False,'exp':1800000000},'tags':{'x':'y'}})
route('rotate', 'POST', 5, '/keys/e/rotate')
route('delete', 'DELETE', 1, '/keys/e')
route('deleted-get', 'GET', 1, '/deletedkeys/e')
route('deleted-list', 'GET', 1, '/deletedkeys')
route('recover', 'POST', 5, '/deletedkeys/e/recover')
route('purge', 'DELETE', 1, '/deletedkeys/e')
route('backup', 'POST', 5, '/keys/k/backup')
route('restore', 'POST', 5, '/keys/restore', {'value':b64u(b'SKRB\x01' + os.urandom(80))})
route('challenge', 'POST', 0, '/keys/k/create')
route('bad-auth', 'GET', 0, '/keys')
claims = {'iss':'https://a.example','exp':1700000600,'iat':1699999990,'x-ms-attestation-type':'sevsnpvm','x-ms-runtime':{'keys':['$WRAPKEY'],'client-payload':{'nonce':'abc'}}}
ctext = json.dumps(claims).replace('"$WRAPKEY"', '$WRAPKEY')
route('release-oct', 'POST', 12, '/keys/k/release', '{}\n' + ctext)
route('release-rsa-256', 'POST', 12, '/keys/r//release?api-version=7.4', '{"enc":"RSA_AES_KEY_WRAP_256","nonce":"abc"}\n' + ctext)
route('release-denied', 'POST', 12, '/keys/k/release', '{}\n' + ctext.replace('sevsnpvm', 'tdxvm'))
route('release-not-exportable', 'POST', 12, '/keys/e/release', '{}\n' + ctext)
route('release-raw', 'POST', 4, '/keys/k/release', {'target':'a.b.c'})
route('evaluate', 'POST', 13, '/keys/k/evaluate', '{}\n' + ctext)
route('nonce', 'GET', 0, '/nonce')
route('healthz', 'GET', 0, '/healthz')
route('healthz-post', 'POST', 0, '/healthz')
route('readyz', 'GET', 0, '/readyz')
route('metrics', 'GET', 0, '/metrics')
route('token-create', 'POST', 5, '/admin/tokens', {'name':'t','roles':['reader','releaser'],'prefixes':['k'],'expires':1800000000})
route('token-list', 'GET', 1, '/admin/tokens')
route('token-revoke', 'DELETE', 1, '/admin/tokens/0123456789abcdef0123456789abcdef')
route('authorities', 'GET', 1, '/admin/authorities')
route('audit', 'GET', 1, '/admin/audit?key=k&outcome=denied')
route('audit-verify', 'GET', 1, '/admin/audit/verify')
route('dev-token', 'POST', 4, '/dev/token', {'claims':{}})

# ---- SEV-SNP (server/snp): synthetic reports, certificates, Azure vTPM
# evidence; made here with fresh keys, never AMD's or Azure's bytes.
import datetime, hashlib
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

CPUID = {'Milan': (0x19, 0x01, 0x01), 'Genoa': (0x19, 0x11, 0x01), 'Turin': (0x1A, 0x02, 0x00)}
def snp_tcb(prod, fmc, bl, tee, snp, uc):
    if prod == 'Turin': return bytes([fmc, bl, tee, snp, 0, 0, 0, uc])
    return bytes([bl, tee, 0, 0, 0, 0, snp, uc])
def snp_report(ver, prod, signer=0, vmpl=0, report_data=b'\xd0' * 64, key=None):
    r = bytearray(0x4A0)
    tcb = snp_tcb(prod, 1, 3, 0, 8, 115)
    struct.pack_into('<IIQ', r, 0, ver, 7, 0x30000)
    r[0x10:0x20] = bytes(range(0xA0, 0xB0)); r[0x20:0x30] = bytes(range(0xB0, 0xC0))
    struct.pack_into('<II', r, 0x30, vmpl, 1)
    r[0x38:0x40] = tcb
    struct.pack_into('<I', r, 0x48, signer << 2)
    r[0x50:0x90] = report_data; r[0x90:0xC0] = bytes(range(0x5A, 0x5A + 48))
    r[0x180:0x188] = tcb
    if ver >= 3: r[0x188:0x18B] = bytes(CPUID[prod])
    if signer == 0: r[0x1A0:0x1E0] = bytes(range(1, 9)) + bytes(56) if prod == 'Turin' else bytes(range(1, 65))
    r[0x1E0:0x1E8] = tcb; r[0x1E8:0x1EB] = bytes([4, 55, 1]); r[0x1F0:0x1F8] = tcb
    if ver >= 5: struct.pack_into('<QQ', r, 0x1F8, 0x11, 0x13)
    if key is not None:
        rr, ss = decode_dss_signature(key.sign(bytes(r[:0x2A0]), ec.ECDSA(hashes.SHA384())))
        r[0x2A0:0x2E8] = rr.to_bytes(72, 'little'); r[0x2E8:0x330] = ss.to_bytes(72, 'little')
    return bytes(r)

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
def amd_name(cn): return x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, 'Engineering'), x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Test Devices'), x509.NameAttribute(NameOID.COMMON_NAME, cn)])
def amd_cert(cn, key, issuer_cn, issuer_key, exts=()):
    b = (x509.CertificateBuilder().subject_name(amd_name(cn)).issuer_name(amd_name(issuer_cn)).public_key(key.public_key())
         .serial_number(1).not_valid_before(datetime.datetime(2023, 1, 1)).not_valid_after(datetime.datetime(2033, 1, 1)))
    for oid, val in exts: b = b.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), val), critical=False)
    return b.sign(issuer_key, hashes.SHA384(), rsa_padding=PSS)
def der_int(v): return bytes([2, 1, v]) if v < 0x80 else bytes([2, 2, 0, v])
def vek_exts(prod, vlek, wrapped=False, chip=bytes(range(1, 65))):
    e = [('1.3.6.1.4.1.3704.1.2', bytes([0x16, len(prod) + (0 if vlek else 3)]) + (prod if vlek else prod + '-B0').encode())]
    if prod == 'Turin': e.append(('1.3.6.1.4.1.3704.1.3.9', der_int(1)))
    e += [('1.3.6.1.4.1.3704.1.3.1', der_int(3)), ('1.3.6.1.4.1.3704.1.3.2', der_int(0)), ('1.3.6.1.4.1.3704.1.3.3', der_int(8)), ('1.3.6.1.4.1.3704.1.3.8', der_int(115))]
    if not vlek: e.append(('1.3.6.1.4.1.3704.1.4', (b'\x04\x40' + chip) if wrapped else chip))
    return e
def pem(c): return c.public_bytes(serialization.Encoding.PEM)
def der(c): return c.public_bytes(serialization.Encoding.DER)

amd = {}
for prod in ('Milan', 'Genoa', 'Turin'):
    ark_k, ask_k, asvk_k = (rsa.generate_private_key(65537, 2048) for _ in range(3))
    ark = amd_cert(f'ARK-{prod}', ark_k, f'ARK-{prod}', ark_k)
    ask = amd_cert(f'SEV-{prod}', ask_k, f'ARK-{prod}', ark_k)
    asvk = amd_cert(f'SEV-VLEK-{prod}', asvk_k, f'ARK-{prod}', ark_k)
    amd[prod] = (ask_k, asvk_k, ark, ask, asvk)
vcek_k = ec.generate_private_key(ec.SECP384R1())

# snp_report: the report bytes.
for prod in ('Milan', 'Genoa', 'Turin'):
    for ver in (2, 3, 5):
        w('snp_report', f'{prod.lower()}-v{ver}', snp_report(ver, prod, key=vcek_k))
w('snp_report', 'milan-v3-vlek-vmpl1', snp_report(3, 'Milan', signer=1, vmpl=1, key=vcek_k))
w('snp_report', 'milan-v4-unsigned', snp_report(4, 'Milan', signer=7))
w('snp_report', 'bad-version-6', snp_report(6, 'Milan'))
w('snp_report', 'bad-truncated', snp_report(3, 'Milan')[:0x2A0])
w('snp_report', 'bad-unsigned-tail', snp_report(3, 'Milan')[:-1] + b'\x01')

# snp_cert: 0 DER certificate, 1 PEM bundle, 2 root file.
for prod in ('Milan', 'Genoa', 'Turin'):
    ask_k, asvk_k, ark, ask, asvk = amd[prod]
    chip = bytes(range(1, 9)) + bytes(56) if prod == 'Turin' else bytes(range(1, 65))
    w('snp_cert', f'vcek-{prod.lower()}', b'\x00' + der(amd_cert('SEV-VCEK', vcek_k, f'SEV-{prod}', ask_k, vek_exts(prod, False, chip=chip))))
    w('snp_cert', f'vlek-{prod.lower()}', b'\x00' + der(amd_cert('SEV-VLEK', vcek_k, f'SEV-VLEK-{prod}', asvk_k, vek_exts(prod, True))))
    w('snp_cert', f'bundle-{prod.lower()}', b'\x01' + pem(ask) + pem(ark) + pem(asvk))
    w('snp_cert', f'roots-{prod.lower()}', b'\x02' + pem(ask) + pem(ark) + pem(asvk))
w('snp_cert', 'vcek-milan-wrapped-hwid', b'\x00' + der(amd_cert('SEV-VCEK', vcek_k, 'SEV-Milan', amd['Milan'][0], vek_exts('Milan', False, wrapped=True))))
w('snp_cert', 'bad-hwid-short', b'\x00' + der(amd_cert('SEV-VCEK', vcek_k, 'SEV-Milan', amd['Milan'][0], [('1.3.6.1.4.1.3704.1.4', bytes(10))])))
w('snp_cert', 'bad-spl-300', b'\x00' + der(amd_cert('SEV-VCEK', vcek_k, 'SEV-Milan', amd['Milan'][0], [('1.3.6.1.4.1.3704.1.3.1', bytes([2, 2, 1, 0x2c]))])))
w('snp_cert', 'bad-not-amd', b'\x00' + der(amd_cert('Someone', vcek_k, 'SEV-Milan', amd['Milan'][0])))

# snp_azure: 0 HCL report, 1 TPMS_ATTEST quote, 2 evidence document.
ak = rsa.generate_private_key(65537, 2048)
def runtime_json(user_data=None):
    doc = {'keys': [dict(rsa_jwk(ak, False), kid='HCLAkPub', key_ops=['sign'])], 'vm-configuration': {'console-enabled': True, 'secure-boot': True, 'tpm-enabled': True, 'vmUniqueId': '11111111-2222-3333-4444-555555555555'}}
    if user_data is not None: doc['user-data'] = user_data
    return json.dumps(doc, separators=(',', ':')).encode()
def hcl_report(rt, rtype=2):
    rep = snp_report(3, 'Milan', report_data=hashlib.sha256(rt).digest() + bytes(32), key=vcek_k)
    hdr = b'HCLA' + struct.pack('<IIII', 1, 0x4C0 + 20 + len(rt), 2, 0) + bytes(12)
    return hdr + rep + struct.pack('<IIIII', 20 + len(rt), 1, rtype, 1, len(rt)) + rt + bytes(64)
def tpm_quote(nonce, pcrs, sel=b'\xff\xff\xff', bank=0x000b):
    m = struct.pack('>IHH', 0xff544347, 0x8018, 34) + b'\x00\x0b' + bytes(32)
    m += struct.pack('>H', len(nonce)) + nonce + struct.pack('>QIIBQ', 1000, 1, 0, 1, 0x2020031200120003)
    m += struct.pack('>IHB', 1, bank, len(sel)) + sel + struct.pack('>H', 32) + hashlib.sha256(b''.join(pcrs)).digest()
    return m, ak.sign(m, padding.PKCS1v15(), hashes.SHA256())
pcrs = [bytes([i]) * 32 for i in range(24)]
for ver, nonce in ((1, b'challenge'), (2, bytes(range(48)))):
    rt = runtime_json(None if ver == 1 else (nonce + bytes(16)).hex().upper())
    h = hcl_report(rt)
    m, sig = tpm_quote(nonce, pcrs)
    w('snp_azure', f'hcl-v{ver}', b'\x00' + h)
    w('snp_azure', f'quote-v{ver}', b'\x01' + m)
    vcek = amd_cert('SEV-VCEK', vcek_k, 'SEV-Milan', amd['Milan'][0], vek_exts('Milan', False))
    doc = {'version': ver, 'tpm_quote': {'signature': sig.hex(), 'message': m.hex(), 'pcrs': [p.hex() for p in pcrs]},
           'hcl_report': base64.urlsafe_b64encode(h).decode(), 'vcek': base64.urlsafe_b64encode(der(vcek)).decode()}
    w('snp_azure', f'evidence-v{ver}', b'\x02' + json.dumps(doc).encode())
w('snp_azure', 'hcl-tdx', b'\x00' + hcl_report(runtime_json(), rtype=4))
w('snp_azure', 'quote-sha1-bank', b'\x01' + tpm_quote(b'n', pcrs[:8], sel=b'\xff\x00\x00', bank=0x0004)[0])
w('snp_azure', 'quote-two-banks', b'\x01' + tpm_quote(b'n', pcrs)[0].replace(struct.pack('>IHB', 1, 0x000b, 3), struct.pack('>IHB', 2, 0x000b, 3), 1))

# jdoc: JSON texts as they come (a release body, a token payload, a stored
# record) and the faults the strict reader must refuse as jansson does.
tok_payload = {'iss': 'https://a.example', 'exp': 2000000000, 'iat': 1.5e9, 'nbf': -1, 'x-ms-attestation-type': 'sevsnpvm',
               'x-ms-isolation-tee': {'x-ms-attestation-type': 'sevsnpvm', 'x-ms-compliance-status': 'azure-compliant-cvm'},
               'x-ms-runtime': {'keys': [dict(rsa_jwk(ak, False), kid='TpmEphemeralEncryptionKey', key_ops=['encrypt'])],
                                'client-payload': {'nonce': 'QURFMDEwMQ=='}}, 'unicode': 'caf\u00e9 \u20ac \U0001f600', 'd': 0.1}
for name, text in [('release-body', json.dumps({'target': 'eyJhbGciOiJSUzI1NiJ9.' + b64u(json.dumps(tok_payload).encode()) + '.c2ln', 'nonce': 'n', 'enc': 'CKM_RSA_AES_KEY_WRAP'})),
                   ('token-payload', json.dumps(tok_payload, ensure_ascii=False)),
                   ('token-payload-ascii', json.dumps(tok_payload, ensure_ascii=True, indent=1)),
                   ('record', json.dumps({'created': 1700000000, 'enabled': True, 'exp': 0, 'jwk': {'kty': 'oct'}, 'key_ops': ['wrapKey'], 'policy': '{"version":"1.0.0"}', 'tags': {}}, sort_keys=True, separators=(',', ':'))),
                   ('scalars', '[0,-0,1e5,1E+5,2.5e-3,-9223372036854775808,9223372036854775807,true,false,null,"",{}]'),
                   ('escapes', '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u001f\\ud83d\\ude00"'),
                   ('bad-dup', '{"a":1,"b":{"c":2,"c":3}}'), ('bad-dup-escaped', '{"a":1,"\\u0061":2}'),
                   ('bad-trailing', '{"a":1} {}'), ('bad-depth', '[' * 40 + ']' * 40), ('bad-nul', '[0\x00,1]'),
                   ('bad-surrogate', '"\\ud800"'), ('bad-utf8', b'"\xed\xa0\x80"'), ('bad-bigint', '[9223372036854775808]'),
                   ('bad-real', '[1e400]'), ('bad-leading-zero', '[01]')]:
    w('jdoc', name, text)

# etcd: 0 range, 1 txn, 2 watch message, 3 error, 4 auth, 5 header, 6 a
# watch stream; answers as etcd 3.4's gateway writes them.
hdr = '"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"7","raft_term":"2"}'
kv = '{"key":"Zm9v","create_revision":"5","mod_revision":"7","version":"3","value":"YmFy"}'
w('etcd', 'range', '\x00{' + hdr + ',"kvs":[' + kv + '],"count":"1"}')
w('etcd', 'range-empty', '\x00{' + hdr + '}')
w('etcd', 'range-more', '\x00{' + hdr + ',"kvs":[' + kv + ',' + kv + '],"more":true,"count":"9"}')
w('etcd', 'txn-ok', '\x01{' + hdr + ',"succeeded":true,"responses":[{"response_put":{"header":{"revision":"7"}}},{"response_delete_range":{"header":{"revision":"7"},"deleted":"2"}}]}')
w('etcd', 'txn-failed', '\x01{' + hdr + ',"responses":[{"response_range":{"header":{"revision":"7"},"kvs":[' + kv + '],"count":"1"}},{"response_range":{"header":{"revision":"7"}}}]}')
w('etcd', 'watch-created', '\x02{"result":{' + hdr + ',"created":true}}')
w('etcd', 'watch-events', '\x02{"result":{' + hdr + ',"events":[{"kv":' + kv + '},{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"8"}}]}}')
w('etcd', 'watch-compacted', '\x02{"result":{' + hdr + ',"canceled":true,"compact_revision":"6"}}')
w('etcd', 'watch-error', '\x02{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}')
w('etcd', 'error', '\x03{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}')
w('etcd', 'auth', '\x04{' + hdr + ',"token":"QxBPztEJGhyrLrmO.16"}')
w('etcd', 'header', '\x05{' + hdr + '}')
w('etcd', 'stream', '\x06\x05{"result":{' + hdr + ',"created":true}}\n{"result":{' + hdr + ',"events":[{"kv":' + kv + '}]}}\n\n{"result":')

# storecfg: store.json as skrd init writes it.
w('storecfg', 'full', json.dumps({'format': 1, 'backend': 'etcd', 'etcd': {'endpoints': ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'], 'prefix': 'skr/', 'cacert': 'etcd-ca.pem', 'cert': 'client.pem', 'key': 'client-key.pem', 'user': 'skr', 'password_file': 'etcd-password'}}, indent=2))
w('storecfg', 'minimal', '{"format":1,"backend":"etcd","etcd":{"endpoints":["http://127.0.0.1:2379"]}}')

# snp_request: 0 an Azure Attestation SevSnpVm request body, 1 certificate
# bytes for the splitter (VCEK DER or PEM, then PEM).
def b64p(b): return base64.urlsafe_b64encode(b).decode()
wrap = {'keys': [dict(rsa_jwk(ak, False), kid='wrap', key_ops=['encrypt'])]}
rt = json.dumps(wrap, separators=(',', ':')).encode()
rep = snp_report(3, 'Milan', report_data=hashlib.sha256(rt).digest() + bytes(32), key=vcek_k)
vcek = amd_cert('SEV-VCEK', vcek_k, 'SEV-Milan', amd['Milan'][0], vek_exts('Milan', False))
ask_k, asvk_k, ark, ask, asvk = amd['Milan']
chain = pem(vcek) + pem(ask) + pem(ark)
def snp_req(inner, runtime=None, init=None, nonce=None, pad=True, extra=None):
    enc = b64p if pad else b64u
    body = '{"report":"%s"' % enc(json.dumps(inner).encode())
    if runtime is not None: body += ',"runtimeData":{"data":"%s","dataType":"%s"}' % (enc(runtime[0]), runtime[1])
    if init is not None: body += ',"initTimeData":{"data":"%s","dataType":"%s"}' % init
    if nonce is not None: body += ',"nonce":%s' % nonce
    if extra is not None: body += ',' + extra
    return b'\x00' + (body + '}').encode()
sidecar_inner = {'SnpReport': b64p(rep), 'VcekCertChain': b64p(chain)}
w('snp_request', 'sidecar', snp_req(sidecar_inner, (rt, 'JSON'), ('', ''), '18446744073709551615'))
w('snp_request', 'der-unpadded', snp_req({'SnpReport': b64u(rep), 'VcekCertChain': b64u(der(vcek))}, pad=False))
w('snp_request', 'binary-string-nonce', snp_req(dict(sidecar_inner, Endorsements=b64p(b'{"Uvm":[]}')), (rt, 'Binary'), (b64p(b'{}'), 'JSON'), '"abc"'))
w('snp_request', 'no-vcek', snp_req({'SnpReport': b64p(rep)}, (rt, 'JSON'), nonce='7'))
w('snp_request', 'bad-draft-policy', snp_req(sidecar_inner, extra='"draftPolicyForAttestation":"p"'))
w('snp_request', 'bad-nested-nonce', snp_req(sidecar_inner, extra='"x":{"nonce":99999999999999999999999}'))
w('snp_request', 'bad-nonce-fraction', snp_req(sidecar_inner, nonce='1.5e3'))
w('snp_request', 'bad-short-report', snp_req({'SnpReport': b64p(rep[:100])}))
w('snp_request', 'split-der-pem', b'\x01' + der(vcek) + pem(ask) + pem(ark))
w('snp_request', 'split-pem-vcek-last', b'\x01' + pem(ask) + pem(ark) + pem(vcek))
w('snp_request', 'split-bad-tail', b'\x01' + der(vcek) + b'tail')

# routes: the attestation endpoint (after the snp_request seeds above).
route('attest-sevsnpvm', 'POST', 4, '/attest/SevSnpVM?api-version=2020-10-01', snp_req(sidecar_inner, (rt, 'JSON'), ('', ''), '18446744073709551615')[1:])
route('attest-azure', 'POST', 4, '/attest/AzureCvm', b'{"evidence":{"version":1},"nonce":"n"}')
route('attest-certs', 'GET', 0, '/certs')
route('attest-openid', 'GET', 0, '/.well-known/openid-configuration')
