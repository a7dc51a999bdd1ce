import * as gcp from "@pulumi/gcp";

export const edge = new gcp.compute.SSLPolicy("edge", {
    profile: "MODERN",
    postQuantumKeyExchange: "DEFERRED",
});

export const internal = new gcp.compute.RegionSslPolicy("internal", {
    region: "us-central1",
    profile: "MODERN",
    postQuantumKeyExchange: "DEFAULT",
});
