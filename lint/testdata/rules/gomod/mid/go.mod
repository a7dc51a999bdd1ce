module example.com/mid

go 1.25.3
