import ssl

# ctx.set_ecdh_curve("prime256v1") was removed: OpenSSL 3.5 picks X25519MLKEM768
ctx = ssl.create_default_context()
curve = choose_curve()
ctx.set_ecdh_curve(curve)  # not a literal: not judged
