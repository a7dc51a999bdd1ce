package com.example.payments;

public final class PaymentsClient {
    static {
        // System.setProperty("jdk.tls.namedGroups", "secp256r1");
        System.setProperty("jdk.tls.namedGroups", "secp384r1, secp256r1");
    }
}
