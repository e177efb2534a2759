namespace Swim.Controller.Data;

/// <summary>
/// Which part of a data file to use. Files carry their split either as Keras-style arrays
/// (x_train/y_train/x_test/y_test) or as x/y plus a scalar <c>train_count</c>: the first train_count
/// samples are the training split, the rest the test split.
/// </summary>
public enum DataSplit
{
    All,
    Train,
    Test,
}
