module github.com/kdb-operator/kdb-operator/agent

go 1.26
