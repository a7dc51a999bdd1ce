module example.com/verifier

go 1.27.0
