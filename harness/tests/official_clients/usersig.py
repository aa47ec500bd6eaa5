# UserSigs made by Tencent's own generators (PyPI tls-sig-api 1.4 for v1, tls-sig-api-v2 1.1 for v2), for
# tests/official_clients.rs. Reads one JSON object on stdin (sdkappid, private_key_pem, secret_key,
# identifier) and prints one JSON object: the signatures, and ones made with keys that are not the app's.
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import TLSSigAPI
import TLSSigAPIv2

req = json.load(sys.stdin)
other_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()
out = {
    "v1": TLSSigAPI.TLSSigAPI(req["sdkappid"], req["private_key_pem"], "").gen_sig(req["identifier"]),
    "v2": TLSSigAPIv2.TLSSigAPIv2(req["sdkappid"], req["secret_key"]).gen_sig(req["identifier"]),
    "v1_other_key": TLSSigAPI.TLSSigAPI(req["sdkappid"], other_key, "").gen_sig(req["identifier"]),
    "v2_other_key": TLSSigAPIv2.TLSSigAPIv2(req["sdkappid"], "0" * 64).gen_sig(req["identifier"]),
}
print(json.dumps(out))
