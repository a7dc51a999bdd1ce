module example.com/payments

go 1.22

toolchain go1.22.5

require golang.org/x/net v0.20.0
