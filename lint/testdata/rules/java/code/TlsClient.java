package com.example.ledger;

import javax.net.ssl.SSLParameters;

final class TlsClient {
    static SSLParameters params() {
        SSLParameters p = new SSLParameters();
        p.setNamedGroups(new String[] {"x25519", "secp256r1"});
        // p.setNamedGroups(new String[] {"secp384r1"});
        return p;
    }

    static SSLParameters hybrid() {
        SSLParameters p = new SSLParameters();
        p.setNamedGroups(new String[] {"X25519MLKEM768", "x25519"});
        return p;
    }
}
