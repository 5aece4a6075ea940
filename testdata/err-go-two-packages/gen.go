// Command gen is a program that belongs in a directory of its own: the
// error is at its package clause, since the other files are of package p.
package main

func main() {}
