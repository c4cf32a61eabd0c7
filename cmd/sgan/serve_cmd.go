package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"sgan/serve"
	"sgan/torch"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "a local web page to explore a model: samples, style mixing, walks, projections, a run's live losses",
		ArgsUsage: "[CKPT | RUN_DIR]",
		Description: "Serves a page (print the URL, open it in a browser) over a checkpoint, the built-in demo model when none is " +
			"given, or a run folder, whose loss curves and newest sample grid it shows live while the checkpoint " +
			"(models/last.pt) is reloaded as training rewrites it. The page has no authentication: it listens on " +
			"127.0.0.1 unless --addr says otherwise. See the README's \"Exploring a model in the browser\".",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "checkpoint or run folder (or give it as the argument); default: the built-in demo model"},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8765", Usage: "address to listen on (host:port; port 0 picks a free one)"},
			&cli.StringFlag{Name: "device", Value: "auto", Usage: "auto, cpu, cuda or cuda:N"},
		},
		Action: runServe,
	}
}

func runServe(c *cli.Context) error {
	target := c.String("ckpt")
	switch {
	case c.NArg() > 1:
		return fmt.Errorf("serve takes one checkpoint or run folder, got %d arguments", c.NArg())
	case c.NArg() == 1 && target != "":
		return fmt.Errorf("give the checkpoint as --ckpt or as the argument, not both")
	case c.NArg() == 1:
		target = c.Args().First()
	}
	dev, err := torch.ParseDevice(c.String("device"))
	if err != nil {
		return err
	}
	o := serve.Options{Device: dev}
	if target != "" {
		st, err := os.Stat(target)
		if err != nil {
			return fmt.Errorf("%s: no such checkpoint or run folder", target)
		}
		if st.IsDir() {
			o.RunDir = target
		}
	}
	// Listen before the model is read, so that a taken port is the one line said.
	addr := c.String("addr")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w (is another sgan serve running? pick another port)", addr, err)
	}
	defer ln.Close()
	if o.RunDir == "" {
		if o.Ckpt, err = checkpointOrBuiltin(target); err != nil {
			return err
		}
		if target == "" {
			o.Name = "built-in demo model"
		}
	}
	srv, err := serve.New(o)
	if err != nil {
		return err
	}
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/"
	if !serve.IsLoopback(ln.Addr().String()) {
		fmt.Fprintf(os.Stderr, "sgan: WARNING: listening on %s: the page has no authentication; anyone who can reach this address can use it and upload scans to it\n", ln.Addr())
	}
	if o.RunDir != "" {
		fmt.Fprintf(os.Stderr, "sgan: watching run folder %s\n", o.RunDir)
	}
	fmt.Fprintf(os.Stderr, "sgan: serving %s on %s (Ctrl-C stops)\n", url, dev)
	fmt.Println(url)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Serve(ctx, ln)
}
