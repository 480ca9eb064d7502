#!/usr/bin/env bash
# Regenerates the seed inputs of fuzz/corpus/ from the test PKI (fixtures/)
# and, when given, a sandbox state directory (its generated registrar root
# and credential certificates: the directory `crpki sandbox` or a test's
# Sandbox::start writes). Needs openssl and python3.
#
#   fuzz/seeds.sh [SANDBOX_STATE_DIR]
#
# Seeds are named seed-*; inputs the fuzzer found and that were kept as
# regressions (crash-*, slow-*, ...) are left alone. Keep the corpora small:
# libFuzzer grows its own working corpus under $CRPKI_CACHE (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

sandbox="${1:-}"
corpus=fuzz/corpus
for t in cert cms_verify csc_replies pkcs12 provider tsp; do
    mkdir -p "$corpus/$t"
    rm -f "$corpus/$t"/seed-*
done

fx=fixtures
certs=(registrar-root other-root rep-rsa2048 rep-ecdsa rep-expired rep-bad-moj rep-rsa1024)

# --- cert: DER, PEM, a bundle, and each MOJ extension value alone ------------
for c in "${certs[@]}"; do
    cp "$fx/$c.der" "$corpus/cert/seed-$c.der"
done
cat "$fx/rep-rsa2048.pem" "$fx/registrar-root.pem" >"$corpus/cert/seed-bundle.pem"
# The extnValue contents of the MOJ extensions (1.2.392.100300.1.1.1-3).
for c in rep-rsa2048 rep-bad-moj; do
    openssl asn1parse -inform DER -in "$fx/$c.der" | awk '/OBJECT +:1\.2\.392\.100300\.1\.1\.[123]$/ {getline; if ($0 ~ /BOOLEAN/) getline; split($1, a, ":"); print a[1]}' |
        while read -r off; do
            openssl asn1parse -inform DER -in "$fx/$c.der" -strparse "$off" -noout -out "$corpus/cert/seed-$c-moj-$off.der" >/dev/null
        done
done
if [ -n "$sandbox" ]; then
    cp "$sandbox/registrar-root.der" "$corpus/cert/seed-sandbox-root.der"
    for p in "$sandbox"/credentials/*.pem; do
        case "$p" in *.key.pem) continue ;; esac
        openssl x509 -in "$p" -outform DER -out "$corpus/cert/seed-sandbox-$(basename "$p" .pem).der"
    done
fi

# --- cms_verify: detached signatures over the target's fixed content ---------
content=$(mktemp)
trap 'rm -f "$content"' EXIT
printf 'crpki fuzz corpus content\n' >"$content"
sign() { # NAME KEY-NAME OPENSSL-OPTIONS...
    local name=$1 key=$2
    shift 2
    openssl cms -sign -binary -in "$content" -signer "$fx/$key.pem" -inkey "$fx/$key.key.pem" \
        -outform DER -out "$corpus/cms_verify/seed-$name.p7s" "$@"
}
sign rsa rep-rsa2048
sign rsa-chain rep-rsa2048 -certfile "$fx/registrar-root.pem"
sign rsa-noattr rep-rsa2048 -noattr
sign rsa-pss rep-rsa2048 -keyopt rsa_padding_mode:pss -md sha384
sign ecdsa rep-ecdsa -md sha512
sign foreign rep-foreign

# --- pkcs12: the fixture files (password crpki-test) -------------------------
for p in rep-rsa2048 rep-rsa2048-legacy rep-ecdsa; do
    cp "$fx/$p.p12" "$corpus/pkcs12/seed-$p.p12"
done

# --- csc_replies: a selector byte, then a reply body (fuzz/src/lib.rs) -------
python3 - "$corpus/csc_replies" "$fx" "$sandbox" <<'PY'
import base64, glob, json, os, subprocess, sys
out, fx, sandbox = sys.argv[1], sys.argv[2], sys.argv[3]
def der(path):
    return open(path, "rb").read() if path.endswith(".der") else subprocess.run(
        ["openssl", "x509", "-in", path, "-outform", "DER"], check=True, capture_output=True).stdout
b64 = lambda b: base64.b64encode(b).decode()
chain = [b64(der(f"{fx}/rep-rsa2048.der")), b64(der(f"{fx}/registrar-root.der"))]
if sandbox:
    leaves = sorted(p for p in glob.glob(f"{sandbox}/credentials/*.pem") if not p.endswith(".key.pem"))
    sandbox_chain = [b64(der(leaves[0])), b64(der(f"{sandbox}/registrar-root.der"))]
else:
    sandbox_chain = chain
key = {"status": "enabled", "algo": ["1.2.840.113549.1.1.11"], "len": 2048}
cert = {"status": "valid", "certificates": chain, "issuerDN": "CN=TEST", "serialNumber": "01",
        "subjectDN": "CN=TEST", "validFrom": "20250101000000Z", "validTo": "20351231235959Z"}
info_v2 = {"description": "fuzz", "key": key, "cert": cert, "SCAL": "2", "multisign": 5,
           "auth": {"mode": "explicit", "expression": "PIN AND OTP",
                    "objects": [{"type": "Password", "id": "PIN", "format": "N", "label": "PIN"},
                                {"type": "OTP", "id": "OTP", "format": "N"}]}}
info_v1 = {"description": "fuzz", "key": key, "cert": dict(cert, certificates=sandbox_chain),
           "authMode": "explicit", "SCAL": "1", "multisign": 1,
           "PIN": {"presence": "true", "format": "N", "label": "PIN"},
           "OTP": {"presence": "true", "type": "offline", "format": "N"}}
seeds = {
    0: ("info", {"specs": "2.0.0.2", "name": "fuzz", "logo": "", "region": "JP", "lang": "ja-JP",
                 "description": "", "authType": ["basic", "oauth2code"],
                 "methods": ["auth/login", "credentials/list", "credentials/info", "signatures/signHash"],
                 "signAlgorithms": {"algos": ["1.2.840.113549.1.1.11"]}}),
    1: ("token", {"access_token": "a", "refresh_token": "r", "token_type": "Bearer", "expires_in": 3600}),
    2: ("list", {"credentialIDs": ["c1", "c2"], "nextPageToken": "p2"}),
    3: ("list-infos", {"credentialIDs": ["c1"], "credentialInfos": [dict(info_v2, credentialID="c1")]}),
    4: ("info-v2", info_v2),
    5: ("info-v1", info_v1),
    6: ("sad", {"SAD": "sad-value", "expiresIn": 300}),
    7 + 9: ("signatures", {"signatures": [b64(b"\x01" * 256)]}),
    8: ("error", {"error": "invalid_request", "error_description": "bad hash"}),
}
for sel, (name, body) in seeds.items():
    with open(os.path.join(out, f"seed-{name}.bin"), "wb") as f:
        f.write(bytes([sel]) + json.dumps(body).encode())
PY

# --- provider: call sequences (fuzz/src/lib.rs's opcodes) --------------------
python3 - "$corpus/provider" <<'PY'
import os, sys
out = sys.argv[1]
seeds = {
    # CSP: acquire "rsa"; get the user key; create a SHA-256 hash; hash data;
    # sign it (buffer of 256); size-query PP_NAME; release.
    "csp-sign": bytes([0,
        0, 1, 0,            # acquire_context(Some("rsa"), flags 0)
        4, 0, 2,            # get_user_key(h0, AT_SIGNATURE)
        10, 0, 64 + 12, 0, 0,  # create_hash(h0, CALG_SHA_256, key 0, flags 0)
        11, 0, 2, 3, 97, 98, 99, 0,  # hash_data(h0, hash, "abc")
        14, 0, 2, 2, 0, 1,  # sign_hash(h0, hash, AT_SIGNATURE, 0, 4096-byte buffer)
        1, 0,               # verify with key h1, flags 0
        2, 0, 4, 0, 0,      # get_prov_param(h0, PP_NAME, 0, size query)
        2, 0, 2, 9, 7,      # get_prov_param(h0, PP_ENUMCONTAINERS, CRYPT_FIRST, 5-byte buffer)
        1, 0, 0]),          # release_context(h0, 0)
    # KSP: open the provider; open key "rsa"; read properties; sign PKCS#1
    # SHA-256; enumerate keys and algorithms; free.
    "ksp-sign": bytes([1,
        0, 1, 0,            # open_provider(KSP name, 0)
        2, 0, 1, 0, 0,      # open_key(h0, "rsa", spec 0, flags 0)
        4, 0, 0, 0, 0,      # get_provider_property(h0, "Name", size query)
        6, 0, 1, 9, 0, 40,  # get_key_property(h0, h1, "Length", 38-byte buffer)
        9, 0, 1, 2, 1, 0, 32] + [7] * 32 + [1, 1,   # sign_hash PKCS1/SHA256, 4096-byte buffer
        11, 1, 0, 250, 0,   # enum_keys(h0, forged state, flags 0)
        11, 0, 0, 5, 0, 0, 0, 0,  # enum_algorithms(h0, signature ops, 0)
        1, 0]),             # free_provider(h0)
}
for name, data in seeds.items():
    with open(os.path.join(out, f"seed-{name}.bin"), "wb") as f:
        f.write(data)
PY
# --- tsp: an openssl TSA's replies and tokens (a throwaway TEST TSA key), a
# rejection, and requests ---------------------------------------------------
tsa=$(mktemp -d)
(
    cd "$tsa"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 3650 \
        -subj "/O=crpki TEST/CN=fuzz TEST TSA root" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout tsa.key -out tsa.csr -subj "/O=crpki TEST/CN=fuzz TEST TSA" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n' >ext.cnf
    openssl x509 -req -in tsa.csr -CA root.pem -CAkey root.key -CAcreateserial -out tsa.pem -days 3650 \
        -extfile ext.cnf 2>/dev/null
    printf '[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ./serial\nsigner_cert = ./tsa.pem\nsigner_key = ./tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1, millisecs:500\ntsa_name = yes\ness_cert_id_alg = sha256\n' >ts.cnf
    echo 01 >serial
    printf 'fuzz' >data
    openssl ts -query -data data -sha256 -cert -out q256.tsq
    openssl ts -query -data data -sha512 -no_nonce -out q512.tsq
    openssl ts -reply -config ts.cnf -queryfile q256.tsq -out r256.tsr 2>/dev/null
    openssl ts -reply -config ts.cnf -queryfile q512.tsq -out r512.tsr 2>/dev/null
    openssl ts -reply -config ts.cnf -queryfile q256.tsq -token_out -out t256.der 2>/dev/null
)
cp "$tsa/q256.tsq" "$corpus/tsp/seed-request.tsq"
cp "$tsa/r256.tsr" "$corpus/tsp/seed-reply-sha256.tsr"
cp "$tsa/r512.tsr" "$corpus/tsp/seed-reply-sha512.tsr"
cp "$tsa/t256.der" "$corpus/tsp/seed-token.der"
# A rejection: status 2, a statusString, failInfo badAlg.
printf '\x30\x0f\x30\x0d\x02\x01\x02\x30\x04\x0c\x02no\x03\x02\x07\x80' >"$corpus/tsp/seed-rejection.tsr"
rm -rf "$tsa"

du -sh "$corpus"
