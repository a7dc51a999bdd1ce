#!/bin/sh
gcloud alpha compute ssl-policies create edge --profile MODERN --post-quantum-key-exchange=DEFERRED
gcloud alpha compute ssl-policies update internal --post-quantum-key-exchange ENABLED
