module example.com/tlsutil

go 1.21
