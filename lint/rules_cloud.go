package lint

// cloudRules are the rules of managed TLS terminators other than AWS
// load balancers (issue 18).
var cloudRules = []Rule{}
