import socket
import ssl


def connect(host: str) -> ssl.SSLSocket:
    ctx = ssl.create_default_context()
    ctx.set_ecdh_curve("prime256v1")
    return ctx.wrap_socket(socket.create_connection((host, 443)), server_hostname=host)


def server_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ecdh_curve('secp384r1')  # FIPS review, 2021
    return ctx
