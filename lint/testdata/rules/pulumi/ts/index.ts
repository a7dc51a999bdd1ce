import * as aws from "@pulumi/aws";

const https = new aws.lb.Listener("https", {
    loadBalancerArn: lb.arn,
    port: 443,
    protocol: "HTTPS",
    sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    certificateArn: cert.arn,
});

const grpc = new aws.lb.Listener("grpc", {
    loadBalancerArn: nlb.arn,
    protocol: "TLS",
    sslPolicy: `ELBSecurityPolicy-TLS13-1-2-PQ-2025-09`,
});

// sslPolicy: "ELBSecurityPolicy-2016-08" was the 2019 setting
const legacy = new aws.lb.Listener("legacy", { protocol: "HTTPS", sslPolicy: 'ELBSecurityPolicy-2016-08' });
const fromConfig = new aws.lb.Listener("cfg", { protocol: "HTTPS", sslPolicy: config.require("sslPolicy") });
