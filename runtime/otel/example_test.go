package otel_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/arbor-go/arbor/runtime"
	"github.com/arbor-go/arbor/runtime/otel"
)

// A tree reported to the program's OpenTelemetry SDK, before it runs.
func ExampleInstrument() {
	tp := sdktrace.NewTracerProvider() // with the program's exporter
	mp := sdkmetric.NewMeterProvider() // with the program's reader
	tree, err := runtime.New(runtime.Spec{Name: "shop", Children: []runtime.Child{{Name: "db", Run: runtime.Func(idle)}}})
	if err != nil {
		log.Fatal(err)
	}
	if err := otel.Instrument(tree, otel.WithTracerProvider(tp), otel.WithMeterProvider(mp)); err != nil {
		log.Fatal(err)
	}
	_ = tree.Run(context.Background())
}

// The spans of a short run: one per attempt, named after the child's path,
// with its generation and how it ended.
func ExampleInstrument_spans() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	first, second := true, make(chan struct{})
	tree, err := runtime.New(runtime.Spec{Name: "shop", Backoff: &runtime.Backoff{}, Children: []runtime.Child{
		{Name: "db", Run: runtime.Func(func(ctx context.Context) error {
			if first { // the first attempt fails, the second runs until shutdown
				first = false
				return errors.New("dial tcp: connection refused")
			}
			close(second)
			<-ctx.Done()
			return nil
		})},
	}})
	if err != nil {
		log.Fatal(err)
	}
	if err := otel.Instrument(tree, otel.WithTracerProvider(tp)); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tree.Run(ctx) }()
	<-second
	cancel()
	<-done

	for _, s := range spans.Ended() {
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		fmt.Printf("%s generation=%s exit=%s status=%v %q\n", s.Name(), attrs["arbor.generation"], attrs["arbor.exit"], s.Status().Code, s.Status().Description)
	}
	// Output:
	// shop/db generation=1 exit=error status=Error "dial tcp: connection refused"
	// shop/db generation=2 exit=cancelled status=Unset ""
}
