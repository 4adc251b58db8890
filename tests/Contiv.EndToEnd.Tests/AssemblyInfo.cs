// The lab is one shared machine-wide resource (namespaces, dockerds): tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
