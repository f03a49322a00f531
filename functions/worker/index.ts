/** Lambda entry for the delivery worker (an SQS FIFO event source). Stand-in until the worker lands. */
export const handler = async (): Promise<{ batchItemFailures: never[] }> => ({
  batchItemFailures: [],
});
