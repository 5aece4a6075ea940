package otel_test

import (
	"context"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

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
