module example.com/x509user

go 1.25
