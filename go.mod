module github.com/pqtls/pqtls

go 1.26
